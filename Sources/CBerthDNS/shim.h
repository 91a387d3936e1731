#ifndef BERTH_CBERTHDNS_SHIM_H
#define BERTH_CBERTHDNS_SHIM_H
// Linux event interfaces the resolver's event loop needs and Swift's Glibc module leaves out.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/inotify.h>
#include <signal.h>
#include <malloc.h>

#endif

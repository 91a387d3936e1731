#ifndef BERTH_CMNL_SHIM_H
#define BERTH_CMNL_SHIM_H
// netinet/in.h and net/if.h must come before the uapi headers, or in6_addr and ifreq
// are defined twice.
#include <netinet/in.h>
#include <net/if.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/veth.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

// Values that are macros or expressions and therefore do not import into Swift.
static inline unsigned int berth_nlmsg_hdrlen(void) { return NLMSG_HDRLEN; }
static inline unsigned int berth_nla_hdrlen(void) { return NLA_HDRLEN; }
static inline unsigned int berth_nlmsg_align(unsigned int len) { return NLMSG_ALIGN(len); }
static inline unsigned int berth_nla_align(unsigned int len) { return NLA_ALIGN(len); }

#endif

/*
 * floor: the least work a process can do to give a container namespace a
 * bridge port, an address, a default route and one published TCP port. The
 * benchmark compares Berth with it: whatever Berth spends beyond this is
 * Berth's own cost (start-up, state, checks), not the kernel's.
 *
 *   floor net    BRIDGE GATEWAY/PREFIX
 *   floor attach NETNS_PATH BRIDGE HOST_VETH IP/PREFIX GATEWAY HOST_PORT CONTAINER_PORT HANDLE_FILE
 *   floor detach HOST_VETH HANDLE_FILE
 *   floor hook-attach BRIDGE HOST_VETH IP/PREFIX GATEWAY HOST_PORT CONTAINER_PORT HANDLE_FILE
 *   floor noop   (start-up cost only)
 *
 * net (untimed, like `berth network create`): the bridge with its address,
 * ip_forward, and one nft batch creating table ip floor with a regular chain
 * "ports" that the nat prerouting and output hooks jump to for local
 * destinations, plus masquerade of the subnet.
 *
 * attach does three round trips:
 *   1. one RTM_NEWLINK makes the veth pair: the host end enslaved to BRIDGE
 *      and up, the peer born inside the namespace (IFLA_NET_NS_FD) as eth0;
 *   2. one sendmsg on a socket opened inside the namespace carries lo up,
 *      eth0 up, the address and the default route (four acks);
 *   3. one nft batch appends "tcp dport HOST_PORT dnat to IP:CONTAINER_PORT"
 *      to chain ports; NLM_F_ECHO returns its handle, kept in HANDLE_FILE.
 * detach deletes the rule by handle (one batch) and the veth (RTM_DELLINK).
 * hook-attach is attach as an OCI createRuntime hook: the namespace is
 * /proc/PID/ns/net of the pid in the container's state on stdin (the bench's
 * section 8 runs it inside runc beside berth-oci-hook; detach is its poststop).
 *
 * Built by scripts/bench with: cc -O2 floor.c -lmnl -lnftnl
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#define TABLE "floor"
#define PORTS "ports"
/* Large enough for the biggest request (the net batch) and any reply. */
#define BUFSZ 16384

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("floor: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ------------------------------------------------------------------ netlink */

/* One netlink socket and the messages queued for its next sendmsg. */
struct conv {
	struct mnl_socket *sock;
	uint32_t seq;
	char out[BUFSZ];
	size_t len;   /* bytes queued in out */
	int pending;  /* acks expected for what is queued */
};

static void conv_open(struct conv *c, int bus)
{
	c->sock = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!c->sock || mnl_socket_bind(c->sock, 0, MNL_SOCKET_AUTOPID) < 0)
		fail("netlink socket (bus %d): %s", bus, strerror(errno));
	c->seq = 1;
	c->len = 0;
	c->pending = 0;
}

/* Starts a message at the end of the queue; it is committed by conv_done. */
static struct nlmsghdr *conv_msg(struct conv *c, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(c->out + c->len);
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	h->nlmsg_seq = c->seq++;
	return h;
}

static void conv_done(struct conv *c, struct nlmsghdr *h, int acks)
{
	c->len += NLMSG_ALIGN(h->nlmsg_len);
	c->pending += acks;
}

typedef void (*reply_fn)(const struct nlmsghdr *h, void *arg);

/* Sends the queue in one sendmsg and reads replies until every ack arrived.
 * Returns 0 or the first negative errno the kernel reported. */
static int conv_send(struct conv *c, reply_fn fn, void *arg)
{
	char in[BUFSZ];
	int first = 0;
	if (mnl_socket_sendto(c->sock, c->out, c->len) < 0)
		return -errno;
	while (c->pending > 0) {
		ssize_t n = mnl_socket_recvfrom(c->sock, in, sizeof(in));
		if (n < 0)
			return -errno;
		int left = (int)n;
		for (const struct nlmsghdr *h = (const void *)in; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
				if (e->error && !first)
					first = e->error;
				c->pending--;
			} else if (fn) {
				fn(h, arg);
			}
		}
	}
	c->len = 0;
	return first;
}

/* -------------------------------------------------------------- rtnetlink */

static struct ifinfomsg *link_msg(struct conv *c, struct nlmsghdr **h, uint16_t type, uint16_t flags)
{
	*h = conv_msg(c, type, flags);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(*h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	return ifi;
}

static void queue_up(struct conv *c, int ifindex)
{
	struct nlmsghdr *h;
	struct ifinfomsg *ifi = link_msg(c, &h, RTM_NEWLINK, 0);
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	conv_done(c, h, 1);
}

static void queue_addr(struct conv *c, int ifindex, struct in_addr a, int prefix)
{
	struct nlmsghdr *h = conv_msg(c, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(h, IFA_LOCAL, 4, &a);
	mnl_attr_put(h, IFA_ADDRESS, 4, &a);
	if (prefix <= 30) {
		uint32_t host = prefix ? 0xffffffffu >> prefix : 0xffffffffu;
		uint32_t bcast = a.s_addr | htonl(host);
		mnl_attr_put_u32(h, IFA_BROADCAST, bcast);
	}
	conv_done(c, h, 1);
}

static void queue_default_route(struct conv *c, int ifindex, struct in_addr via)
{
	struct nlmsghdr *h = conv_msg(c, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put(h, RTA_GATEWAY, 4, &via);
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)ifindex);
	conv_done(c, h, 1);
}

static int delete_link(struct conv *c, const char *name)
{
	struct nlmsghdr *h;
	link_msg(c, &h, RTM_DELLINK, 0);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	conv_done(c, h, 1);
	return conv_send(c, NULL, NULL);
}

/* ------------------------------------------------------------- nftables */

/* Batch framing: BEGIN and END carry no ack; every message between does. */
static void batch_begin(struct conv *c)
{
	nftnl_batch_begin(c->out + c->len, c->seq++);
	c->len += NLMSG_ALIGN(((struct nlmsghdr *)(c->out + c->len))->nlmsg_len);
}

static void batch_end(struct conv *c)
{
	nftnl_batch_end(c->out + c->len, c->seq++);
	c->len += NLMSG_ALIGN(((struct nlmsghdr *)(c->out + c->len))->nlmsg_len);
}

static struct nlmsghdr *nft_msg(struct conv *c, uint16_t type, uint16_t flags)
{
	return nftnl_nlmsg_build_hdr(c->out + c->len, type, NFPROTO_IPV4, flags | NLM_F_ACK, c->seq++);
}

static void add_expr(struct nftnl_rule *r, const char *name, void (*fill)(struct nftnl_expr *, const void *),
		     const void *arg)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	if (!e)
		fail("out of memory");
	fill(e, arg);
	nftnl_rule_add_expr(r, e);
}

struct cmp { uint32_t op; const void *data; uint32_t len; };
struct payload { uint32_t base, offset, len; };
struct bitwise { uint32_t mask; };

static void fill_cmp(struct nftnl_expr *e, const void *a)
{
	const struct cmp *x = a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, x->op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, x->data, x->len);
}

static void fill_payload(struct nftnl_expr *e, const void *a)
{
	const struct payload *x = a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, x->base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, x->offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, x->len);
}

static void fill_bitwise(struct nftnl_expr *e, const void *a)
{
	const struct bitwise *x = a;
	uint32_t zero = 0;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &x->mask, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
}

static void fill_fib_daddr_type(struct nftnl_expr *e, const void *a)
{
	(void)a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
}

static void fill_jump_ports(struct nftnl_expr *e, const void *a)
{
	(void)a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NFT_JUMP);
	nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, PORTS);
}

static void fill_l4proto(struct nftnl_expr *e, const void *a)
{
	(void)a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

struct imm { uint32_t reg; const void *data; uint32_t len; };

static void fill_imm(struct nftnl_expr *e, const void *a)
{
	const struct imm *x = a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, x->reg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, x->data, x->len);
}

static void fill_dnat(struct nftnl_expr *e, const void *a)
{
	(void)a;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
}

static void fill_none(struct nftnl_expr *e, const void *a)
{
	(void)e;
	(void)a;
}

static struct nftnl_rule *new_rule(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		fail("out of memory");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV4);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void queue_rule(struct conv *c, uint16_t type, uint16_t flags, struct nftnl_rule *r)
{
	struct nlmsghdr *h = nft_msg(c, type, flags);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	conv_done(c, h, 1);
}

static void queue_chain(struct conv *c, const char *name, int hook, int priority)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	if (!ch)
		fail("out of memory");
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	if (hook >= 0) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "nat");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, priority);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	struct nlmsghdr *h = nft_msg(c, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	nftnl_chain_nlmsg_build_payload(h, ch);
	nftnl_chain_free(ch);
	conv_done(c, h, 1);
}

/* "fib daddr type local jump ports" in a hook chain. */
static struct nftnl_rule *local_jump(const char *chain)
{
	struct nftnl_rule *r = new_rule(chain);
	uint32_t local = RTN_LOCAL;
	add_expr(r, "fib", fill_fib_daddr_type, NULL);
	add_expr(r, "cmp", fill_cmp, &(struct cmp){NFT_CMP_EQ, &local, 4});
	add_expr(r, "immediate", fill_jump_ports, NULL);
	return r;
}

/* "ip saddr NET/MASK ip daddr != NET/MASK masquerade" */
static struct nftnl_rule *masquerade(uint32_t net, uint32_t mask)
{
	struct nftnl_rule *r = new_rule("postrouting");
	add_expr(r, "payload", fill_payload, &(struct payload){NFT_PAYLOAD_NETWORK_HEADER, 12, 4});
	add_expr(r, "bitwise", fill_bitwise, &(struct bitwise){mask});
	add_expr(r, "cmp", fill_cmp, &(struct cmp){NFT_CMP_EQ, &net, 4});
	add_expr(r, "payload", fill_payload, &(struct payload){NFT_PAYLOAD_NETWORK_HEADER, 16, 4});
	add_expr(r, "bitwise", fill_bitwise, &(struct bitwise){mask});
	add_expr(r, "cmp", fill_cmp, &(struct cmp){NFT_CMP_NEQ, &net, 4});
	add_expr(r, "masq", fill_none, NULL);
	return r;
}

/* "meta l4proto tcp tcp dport HPORT dnat to IP:CPORT" */
static struct nftnl_rule *dnat(struct in_addr ip, uint16_t hport, uint16_t cport)
{
	struct nftnl_rule *r = new_rule(PORTS);
	uint8_t tcp = IPPROTO_TCP;
	uint16_t hp = htons(hport), cp = htons(cport);
	add_expr(r, "meta", fill_l4proto, NULL);
	add_expr(r, "cmp", fill_cmp, &(struct cmp){NFT_CMP_EQ, &tcp, 1});
	add_expr(r, "payload", fill_payload, &(struct payload){NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2});
	add_expr(r, "cmp", fill_cmp, &(struct cmp){NFT_CMP_EQ, &hp, 2});
	add_expr(r, "immediate", fill_imm, &(struct imm){NFT_REG_1, &ip.s_addr, 4});
	add_expr(r, "immediate", fill_imm, &(struct imm){NFT_REG_2, &cp, 2});
	add_expr(r, "nat", fill_dnat, NULL);
	return r;
}

static void echoed_handle(const struct nlmsghdr *h, void *arg)
{
	if (NFNL_SUBSYS_ID(h->nlmsg_type) != NFNL_SUBSYS_NFTABLES || NFNL_MSG_TYPE(h->nlmsg_type) != NFT_MSG_NEWRULE)
		return;
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (r && nftnl_rule_nlmsg_parse(h, r) == 0)
		*(uint64_t *)arg = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	nftnl_rule_free(r);
}

/* ---------------------------------------------------------------- parsing */

static struct in_addr ipv4(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		fail("\"%s\" is not an IPv4 address", s);
	return a;
}

static struct in_addr ipv4_cidr(const char *s, int *prefix)
{
	char host[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	char *end;
	if (!slash || (size_t)(slash - s) >= sizeof(host))
		fail("\"%s\" is not IPv4/PREFIX", s);
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = 0;
	long p = strtol(slash + 1, &end, 10);
	if (*end || p < 1 || p > 32)
		fail("\"%s\" has no prefix length 1-32", s);
	*prefix = (int)p;
	return ipv4(host);
}

static uint16_t port(const char *s)
{
	char *end;
	long p = strtol(s, &end, 10);
	if (*end || p < 1 || p > 65535)
		fail("\"%s\" is not a port 1-65535", s);
	return (uint16_t)p;
}

static const char *ifname(const char *s)
{
	if (!*s || strlen(s) >= IFNAMSIZ)
		fail("\"%s\" is not an interface name (1-%d bytes)", s, IFNAMSIZ - 1);
	return s;
}

/* --------------------------------------------------------------- commands */

static int cmd_net(char **a)
{
	const char *bridge = ifname(a[0]);
	int prefix;
	struct in_addr gw = ipv4_cidr(a[1], &prefix);
	uint32_t mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	uint32_t net = gw.s_addr & mask;

	struct conv rt;
	conv_open(&rt, NETLINK_ROUTE);
	struct nlmsghdr *h;
	struct ifinfomsg *ifi = link_msg(&rt, &h, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, bridge);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	conv_done(&rt, h, 1);
	int err = conv_send(&rt, NULL, NULL);
	if (err)
		fail("create bridge %s: %s", bridge, strerror(-err));
	int index = (int)if_nametoindex(bridge);
	if (!index)
		fail("bridge %s not found after creating it", bridge);
	queue_addr(&rt, index, gw, prefix);
	if ((err = conv_send(&rt, NULL, NULL)))
		fail("address %s on %s: %s", a[1], bridge, strerror(-err));

	int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		fail("ip_forward: %s", strerror(errno));
	close(fd);

	struct conv nf;
	conv_open(&nf, NETLINK_NETFILTER);
	batch_begin(&nf);
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		fail("out of memory");
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, TABLE);
	h = nft_msg(&nf, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	conv_done(&nf, h, 1);
	queue_chain(&nf, PORTS, -1, 0);
	queue_chain(&nf, "prerouting", NF_INET_PRE_ROUTING, -100);
	queue_chain(&nf, "output", NF_INET_LOCAL_OUT, -100);
	queue_chain(&nf, "postrouting", NF_INET_POST_ROUTING, 100);
	queue_rule(&nf, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, local_jump("prerouting"));
	queue_rule(&nf, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, local_jump("output"));
	queue_rule(&nf, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, masquerade(net, mask));
	batch_end(&nf);
	if ((err = conv_send(&nf, NULL, NULL)))
		fail("nft table ip %s: %s", TABLE, strerror(-err));
	return 0;
}

static int cmd_attach(char **a)
{
	const char *nspath = a[0], *bridge = ifname(a[1]), *veth = ifname(a[2]), *handle_file = a[7];
	int prefix;
	struct in_addr ip = ipv4_cidr(a[3], &prefix), gw = ipv4(a[4]);
	uint16_t hport = port(a[5]), cport = port(a[6]);

	int nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		fail("open %s: %s", nspath, strerror(errno));
	int bridge_index = (int)if_nametoindex(bridge);
	if (!bridge_index)
		fail("no bridge %s (run: floor net %s GATEWAY/PREFIX)", bridge, bridge);

	/* 1. the pair, in one message */
	struct conv rt;
	conv_open(&rt, NETLINK_ROUTE);
	struct nlmsghdr *h;
	struct ifinfomsg *ifi = link_msg(&rt, &h, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifi->ifi_flags = ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, veth);
	mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)bridge_index);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* The peer cannot be born up: its open needs the other end (ENOTCONN). */
	struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(h, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(h, IFLA_IFNAME, "eth0");
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	conv_done(&rt, h, 1);
	int err = conv_send(&rt, NULL, NULL);
	if (err)
		fail("create veth %s with eth0 in %s: %s", veth, nspath, strerror(-err));

	/* 2. a socket that lives in the container namespace; the thread goes back at once */
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0 || setns(nsfd, CLONE_NEWNET) < 0)
		fail("enter %s: %s", nspath, strerror(errno));
	struct conv in;
	conv_open(&in, NETLINK_ROUTE);
	int eth0 = (int)if_nametoindex("eth0");
	if (setns(home, CLONE_NEWNET) < 0)
		fail("return to the host namespace: %s", strerror(errno));
	close(home);
	if (!eth0) {
		delete_link(&rt, veth);
		fail("no eth0 in %s after creating the pair", nspath);
	}
	queue_up(&in, 1); /* lo is always index 1 */
	queue_up(&in, eth0);
	queue_addr(&in, eth0, ip, prefix);
	queue_default_route(&in, eth0, gw);
	if ((err = conv_send(&in, NULL, NULL))) {
		delete_link(&rt, veth);
		fail("configure eth0 in %s: %s", nspath, strerror(-err));
	}

	/* 3. the published port */
	struct conv nf;
	conv_open(&nf, NETLINK_NETFILTER);
	batch_begin(&nf);
	queue_rule(&nf, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND | NLM_F_ECHO, dnat(ip, hport, cport));
	batch_end(&nf);
	uint64_t handle = 0;
	err = conv_send(&nf, echoed_handle, &handle);
	if (err || !handle) {
		delete_link(&rt, veth);
		fail("dnat tcp %u to %s:%u: %s", hport, a[3], cport, err ? strerror(-err) : "no handle echoed");
	}
	FILE *f = fopen(handle_file, "we");
	if (!f || fprintf(f, "%llu\n", (unsigned long long)handle) < 0 || fclose(f))
		fail("write %s: %s", handle_file, strerror(errno));
	return 0;
}

static int cmd_detach(char **a)
{
	const char *veth = ifname(a[0]), *handle_file = a[1];
	unsigned long long handle = 0;
	FILE *f = fopen(handle_file, "re");
	if (!f || fscanf(f, "%llu", &handle) != 1 || !handle)
		fail("no rule handle in %s", handle_file);
	fclose(f);

	struct conv nf;
	conv_open(&nf, NETLINK_NETFILTER);
	batch_begin(&nf);
	struct nftnl_rule *r = new_rule(PORTS);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	queue_rule(&nf, NFT_MSG_DELRULE, 0, r);
	batch_end(&nf);
	int err = conv_send(&nf, NULL, NULL);
	if (err && err != -ENOENT)
		fail("delete rule handle %llu: %s", handle, strerror(-err));

	struct conv rt;
	conv_open(&rt, NETLINK_ROUTE);
	if ((err = delete_link(&rt, veth)) && err != -ENODEV)
		fail("delete %s: %s", veth, strerror(-err));
	unlink(handle_file);
	return 0;
}

/* attach, its namespace named by the OCI state on stdin: {"pid": N, ...}. */
static int cmd_hook_attach(char **a)
{
	static char state[65536];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof state - 1 && (r = read(0, state + n, sizeof state - 1 - n)) > 0)
		n += (size_t)r;
	state[n] = 0;
	char *p = strstr(state, "\"pid\"");
	if (!p)
		fail("no \"pid\" in the state on stdin");
	p += 5;
	while (*p == ' ' || *p == ':')
		p++;
	long pid = strtol(p, NULL, 10);
	if (pid <= 0)
		fail("no pid in the state on stdin");
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
	char *args[8] = { path, a[0], a[1], a[2], a[3], a[4], a[5], a[6] };
	return cmd_attach(args);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "net"))
		return cmd_net(argv + 2);
	if (argc == 10 && !strcmp(argv[1], "attach"))
		return cmd_attach(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "detach"))
		return cmd_detach(argv + 2);
	if (argc == 9 && !strcmp(argv[1], "hook-attach"))
		return cmd_hook_attach(argv + 2);
	if (argc == 2 && !strcmp(argv[1], "noop"))
		return 0;
	fputs("usage: floor net BRIDGE GATEWAY/PREFIX\n"
	      "       floor attach NETNS_PATH BRIDGE HOST_VETH IP/PREFIX GATEWAY HOST_PORT CONTAINER_PORT HANDLE_FILE\n"
	      "       floor detach HOST_VETH HANDLE_FILE\n"
	      "       floor hook-attach BRIDGE HOST_VETH IP/PREFIX GATEWAY HOST_PORT CONTAINER_PORT HANDLE_FILE (OCI state on stdin)\n"
	      "       floor noop\n",
	      stderr);
	return 2;
}

// darwin-modeld: the model of xnu the Darwin backends run against in the
// Linux suite (tests/darwin_model). Root, one per network namespace (its
// abstract socket is per namespace); started by the test, it runs until
// killed. It owns every modelled object (bpf devices, AF_NDRV and
// PF_SYSTEM sockets, feth interfaces, the net.link.fake.max_mtu sysctl)
// and keeps xnu's rules for them, each with the xnu lines it follows
// (apple-oss-distributions/xnu main, bsd/net/). Behind the model, real
// Linux interfaces carry the frames, so ping, ARP and tcpdump see them:
//  - a peered feth pair is a veth pair of the same names, MACs and MTUs;
//    an unpeered feth is a persistent tap of its name;
//  - a bpf device reads an AF_PACKET socket on its interface: incoming
//    frames are feth's tap "in", PACKET_OUTGOING its tap "out"
//    (if_fake.c:3812-3820: the sending half taps out, the peer in);
//  - an NDRV send is an AF_PACKET send on its interface;
//  - a utun is a Linux tun (IFF_TUN | IFF_NO_PI) named utunN, the model
//    adding and removing Darwin's 4-byte family header.
// Protocol: model_protocol.hpp.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "abi.hpp"
#include "model_protocol.hpp"
#include "tunnel/darwin_structs.hpp"

extern char** environ;

namespace dm = feth::darwin_model;
namespace darwin = feth::darwin;

namespace {

// ---- xnu's constants the model keeps ----
constexpr unsigned kBpfDefaultBufsize = 4096;       // bpf.c:145 bpf_bufsize
constexpr unsigned kBpfMinBufsize = 32;             // bpf.c BPF_MINBUFSIZE
constexpr unsigned kBpfMaxBufsize = 512 * 1024;     // bpf.c bpf_maxbufsize (BPF_MAXBUFSIZE)
constexpr unsigned kBpfMaxDevices = 256;            // bpf.c BPF_MAX_DEVICES
constexpr unsigned kBpfEthernetHdrlen = 18;         // BPF_WORDALIGN(14 + 18) - 14 (bpf.c bpf_attachd)
constexpr unsigned kNdrvDefaultSendspace = 8192;    // ndrv_var.h:76-77 NDRVSNDQ
constexpr unsigned kEtherMtu = 1500;                // ETHERMTU
constexpr unsigned kUtunControlId = 0x2a;           // any id: CTLIOCGINFO hands it out by name
constexpr int kUtunOptIfname = darwin::kUtunOptIfname;
constexpr int kDarwinAfInet6 = 30;

// ---- interfaces ----

struct Feth {
    unsigned unit = 0;
    std::uint8_t mac[6]{};
    unsigned mtu = kEtherMtu;
    unsigned max_mtu = 0; // fixed at creation (if_fake.c:3561)
    bool up = false;
    std::string peer;
    unsigned enobufs = 0;   // injected: the next NDRV sends fail
    unsigned hold_full = 0; // injected: the next captures are dropped as with an unread hold buffer
    // Injected: the readers are told of nothing until this many records
    // wait in their store buffer (or kBatchPatience after the first), so
    // that one read hands over them all, as on a Mac whose reader was not
    // scheduled while a burst arrived.
    unsigned batch = 0;
    std::optional<std::chrono::steady_clock::time_point> batch_since;
};

// A batch that never fills (fewer frames came than asked for) is handed
// over anyway after this long, so that the knob itself strands nothing.
constexpr std::chrono::milliseconds kBatchPatience{500};

std::map<std::string, Feth> feths;
unsigned max_mtu_sysctl = darwin::kFethDefaultMaxMtu; // if_fake.c:162-ish, FETH_MAX_MTU_DEFAULT 2048

void run_ip(std::vector<std::string> args)
{
    args.insert(args.begin(), "ip");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Quiet: deleting what may not exist is part of remaking a pair.
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "ip", &quiet, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&quiet);
    if (rc != 0) return;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

std::string mac_text(const std::uint8_t* m)
{
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

void apply_linux_state(const std::string& name)
{
    const Feth& f = feths.at(name);
    run_ip({"link", "set", "dev", name, "address", mac_text(f.mac)});
    run_ip({"link", "set", "dev", name, "mtu", std::to_string(f.mtu)});
    run_ip({"link", "set", "dev", name, f.up ? "up" : "down"});
}

void rebind_packet_sockets(const std::string& name); // below

// feth has no segmentation offload (frames are at most an MTU) and, with
// net.link.fake.hwcsum 0 (if_fake.c, the default), no checksum offload:
// what its peer's bpf sees carries complete checksums. A veth would hand
// the capture TCP and UDP frames whose checksum is still to be filled in,
// and the far end of the tunnel would drop them.
void no_offloads(const std::string& name)
{
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return;
    for (std::uint32_t cmd : {ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO}) {
        ethtool_value value{cmd, 0};
        ::ifreq ifr{};
        std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
        ifr.ifr_data = reinterpret_cast<char*>(&value);
        (void)::ioctl(s, SIOCETHTOOL, &ifr);
    }
    ::close(s);
}

// An unpeered feth: a persistent tap of its name, whose frames go nowhere
// (no process has it open), as an unpeered feth's do. (A dummy would do,
// but its module is not everywhere.)
void make_lone(const std::string& name)
{
    int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    ::ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, TUNSETIFF, &ifr) == 0) (void)::ioctl(fd, TUNSETPERSIST, 1);
    ::close(fd);
}

// The Linux stand-in of `name` (and of its peer): a veth pair when peered,
// else a lone tap. Destroying one veth end destroys both, so a pair is always
// remade whole.
void realize(const std::string& name)
{
    auto it = feths.find(name);
    run_ip({"link", "del", "dev", name});
    if (it == feths.end()) return;
    const std::string& peer = it->second.peer;
    if (!peer.empty()) {
        run_ip({"link", "del", "dev", peer});
        run_ip({"link", "add", "dev", name, "type", "veth", "peer", "name", peer});
        no_offloads(name);
        no_offloads(peer);
        apply_linux_state(peer);
        rebind_packet_sockets(peer);
    } else {
        make_lone(name);
    }
    apply_linux_state(name);
    rebind_packet_sockets(name);
}

// "feth<unit>" -> unit; -1 when not a feth name (if_fake.c: the clone's name).
long feth_unit(const std::string& name)
{
    if (name.size() <= 4 || name.compare(0, 4, "feth") != 0 || name.size() > 9) return -1;
    long unit = 0;
    for (std::size_t i = 4; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9') return -1;
        unit = unit * 10 + (name[i] - '0');
    }
    if (name.size() > 5 && name[4] == '0') return -1;
    return unit <= static_cast<long>(darwin::kIfMaxUnit) ? unit : -1;
}

bool linux_interface_exists(const std::string& name)
{
    return ::if_nametoindex(name.c_str()) != 0;
}

// ---- connections and their objects ----

struct Bpf {
    unsigned minor = 0;
    unsigned bufsize = kBpfDefaultBufsize;
    std::string ifname;      // attached to; empty when not
    bool was_attached = false;
    bool immediate = false;
    bool see_sent = true;    // BPF_D_INOUT by default
    bool promisc = false;
    std::vector<std::uint8_t> store, hold; // bd_sbuf/bd_slen, bd_hbuf/bd_hlen
    std::size_t store_records = 0;         // records in `store` (for the batch knob)
    bool hold_busy = false;  // bd_fbuf == NULL: the hold buffer waits for a read
    std::uint64_t received = 0, dropped = 0;
};

struct Ndrv {
    std::string bound;
    bool connected = false;
    unsigned sendspace = kNdrvDefaultSendspace;
};

struct Utun {
    std::string name;
    int tun = -1;
};

enum class Type { Fresh, Bpf, Ndrv, Inet, Utun };

struct Conn {
    int fd = -1;
    uid_t uid = 0;
    Type type = Type::Fresh;
    bool token_pending = false;
    int packet = -1; // AF_PACKET socket (bpf: capture; ndrv: send)
    Bpf bpf;
    Ndrv ndrv;
    Utun utun;
};

std::map<int, std::unique_ptr<Conn>> conns;
bool trace = false; // DARWIN_MODELD_TRACE=1: every request and its answer on stderr
Conn* bpf_minors[kBpfMaxDevices] = {};

struct Result {
    long value = 0;
    int err = 0;
    std::vector<std::uint8_t> out;
};

Result fail(int err)
{
    return Result{-1, err, {}};
}

void send_answer(Conn& c, const Result& r)
{
    dm::Answer a{dm::Kind::Answer, static_cast<std::int32_t>(r.value), r.err, 0};
    std::vector<std::uint8_t> msg(sizeof a + r.out.size());
    std::memcpy(msg.data(), &a, sizeof a);
    if (!r.out.empty()) std::memcpy(msg.data() + sizeof a, r.out.data(), r.out.size());
    (void)::send(c.fd, msg.data(), msg.size(), MSG_NOSIGNAL);
}

// The injected batch of `b`'s interface is still filling: its store
// buffer is kept from the reader (Feth::batch).
bool batch_filling(const Bpf& b)
{
    auto it = feths.find(b.ifname);
    return it != feths.end() && it->second.batch != 0;
}

bool readable(const Conn& c)
{
    if (c.type == Type::Bpf) {
        const Bpf& b = c.bpf;
        if (b.was_attached && b.ifname.empty()) return true; // detached: a read says ENXIO
        if (b.hold_busy) return true;
        return b.immediate && !b.store.empty() && !batch_filling(b); // bpf.c bpfselect FREAD
    }
    return false; // utun: the tun descriptor's readiness (main loop)
}

void send_token(Conn& c)
{
    if (c.token_pending) return;
    dm::Answer a{dm::Kind::Token, 0, 0, 0};
    if (::send(c.fd, &a, sizeof a, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(sizeof a)) c.token_pending = true;
}

void maybe_token(Conn& c)
{
    if (readable(c)) send_token(c);
}

int open_packet_socket(const std::string& ifname)
{
    int s = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (s < 0) return -1;
    int big = 4 * 1024 * 1024;
    (void)::setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    if (sll.sll_ifindex == 0 || ::bind(s, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) {
        ::close(s);
        return -1;
    }
    return s;
}

void rebind_packet_sockets(const std::string& name)
{
    for (auto& [fd, c] : conns) {
        const std::string* on = c->type == Type::Bpf ? &c->bpf.ifname : c->type == Type::Ndrv ? &c->ndrv.bound : nullptr;
        if (on == nullptr || *on != name) continue;
        if (c->packet >= 0) ::close(c->packet);
        c->packet = open_packet_socket(name);
    }
}

// bpf.c bpf_detachd: the interface went away under its readers; a read
// then fails with ENXIO once the buffers are empty (bpf.c:1338-1342).
void detach_readers(const std::string& name)
{
    for (auto& [fd, c] : conns) {
        if (c->type == Type::Bpf && c->bpf.ifname == name) {
            c->bpf.ifname.clear();
            if (c->packet >= 0) ::close(c->packet);
            c->packet = -1;
            maybe_token(*c);
        }
        if (c->type == Type::Ndrv && c->ndrv.bound == name && c->packet >= 0) {
            ::close(c->packet);
            c->packet = -1;
        }
    }
}

// ---- bpf ----

void rotate(Bpf& b) // bpf.c ROTATE_BUFFERS
{
    b.hold.swap(b.store);
    b.store.clear();
    b.store_records = 0;
    b.hold_busy = true;
}

// The batch of `f` is complete: its readers are told, as the store
// buffer's first frame would have told them.
void release_batch(const std::string& name, Feth& f)
{
    f.batch = 0;
    f.batch_since.reset();
    for (auto& [fd, c] : conns)
        if (c->type == Type::Bpf && c->bpf.ifname == name) maybe_token(*c);
}

void note_batch_record(const std::string& name, Feth& f, std::size_t records)
{
    if (f.batch == 0) return;
    if (!f.batch_since) f.batch_since = std::chrono::steady_clock::now();
    if (records >= f.batch) release_batch(name, f);
}

// bpf.c catchpacket (4024-4100): the record is an 18-byte header (timeval32
// on LP64) and the frame, clamped to the buffer (caplen < datalen then),
// put BPF_WORDALIGN'ed after the previous one, with no padding after the
// last; when it does not fit, the store buffer becomes the hold buffer,
// unless the hold buffer still waits for a read: then the frame is dropped
// and counted.
void catch_packet(Conn& c, const std::uint8_t* frame, std::size_t pktlen)
{
    Bpf& b = c.bpf;
    ++b.received;
    Feth* f = feths.count(b.ifname) != 0 ? &feths[b.ifname] : nullptr;
    std::size_t totlen = kBpfEthernetHdrlen + pktlen;
    if (totlen > b.bufsize) totlen = b.bufsize;
    std::size_t curlen = (b.store.size() + 3) & ~std::size_t{3};
    if (curlen + totlen > b.bufsize || (f != nullptr && f->hold_full != 0)) {
        if (b.hold_busy || (f != nullptr && f->hold_full != 0)) {
            if (f != nullptr && f->hold_full != 0) --f->hold_full;
            ++b.dropped;
            return;
        }
        rotate(b);
        curlen = 0;
    }
    const std::uint32_t caplen = static_cast<std::uint32_t>(totlen - kBpfEthernetHdrlen);
    b.store.resize(curlen + totlen, 0);
    std::uint8_t* p = b.store.data() + curlen;
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    const std::int32_t sec = static_cast<std::int32_t>(now.tv_sec), usec = static_cast<std::int32_t>(now.tv_nsec / 1000);
    const std::uint32_t datalen = static_cast<std::uint32_t>(pktlen);
    const std::uint16_t hdrlen = kBpfEthernetHdrlen;
    std::memcpy(p, &sec, 4);
    std::memcpy(p + 4, &usec, 4);
    std::memcpy(p + 8, &caplen, 4);
    std::memcpy(p + 12, &datalen, 4);
    std::memcpy(p + 16, &hdrlen, 2);
    std::memcpy(p + kBpfEthernetHdrlen, frame, caplen);
    ++b.store_records;
    if (f != nullptr) note_batch_record(b.ifname, *f, b.store_records);
    maybe_token(c);
}

void drain_capture(Conn& c)
{
    static std::vector<std::uint8_t> buf(65536 + 64);
    for (;;) {
        sockaddr_ll from{};
        socklen_t fl = sizeof from;
        ssize_t n = ::recvfrom(c.packet, buf.data(), buf.size(), MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &fl);
        if (n < 0) return;
        // bpf.c BIOCSSEESENT (2414-2424): 0 = BPF_D_IN, the frames the
        // interface sends are not seen.
        if (from.sll_pkttype == PACKET_OUTGOING && !c.bpf.see_sent) continue;
        std::size_t len = static_cast<std::size_t>(n) < buf.size() ? static_cast<std::size_t>(n) : buf.size();
        catch_packet(c, buf.data(), len);
    }
}

// bpf.c bpfread (1289-1347).
Result bpf_read(Conn& c, std::size_t size, bool nonblocking)
{
    Bpf& b = c.bpf;
    if (size != b.bufsize) return fail(EINVAL); // 1289-1293: the read must be the buffer's size
    if (!b.hold_busy) {
        // 1316-1330: in immediate or non-blocking mode a read takes what the
        // store buffer has.
        if ((b.immediate || nonblocking) && !b.store.empty() && !batch_filling(b))
            rotate(b);
        else if (b.ifname.empty())
            return fail(ENXIO); // 1338-1342: detached (or never attached)
        else
            return fail(EWOULDBLOCK); // 1343-1347 (the client waits when blocking)
    }
    Result r;
    r.out = std::move(b.hold);
    b.hold.clear();
    b.hold_busy = false;
    r.value = static_cast<long>(r.out.size());
    return r;
}

unsigned load_uint(const std::vector<std::uint8_t>& in)
{
    unsigned v = 0;
    if (in.size() >= sizeof v) std::memcpy(&v, in.data(), sizeof v);
    return v;
}

Result uint_answer(unsigned v)
{
    Result r;
    r.out.resize(sizeof v);
    std::memcpy(r.out.data(), &v, sizeof v);
    return r;
}

// bpf.c bpfioctl (2041-2424), the requests the backends make.
Result bpf_ioctl(Conn& c, unsigned long req, const std::vector<std::uint8_t>& in)
{
    Bpf& b = c.bpf;
    const bool attached = !b.ifname.empty();
    if (req == dm::kBiocGblen) return uint_answer(b.bufsize);
    if (req == dm::kBiocSblen) {
        // 2114-2148: only before BIOCSETIF; clamped to [32, max], written back.
        if (attached || b.was_attached) return fail(EINVAL);
        unsigned size = load_uint(in);
        if (size > kBpfMaxBufsize) size = kBpfMaxBufsize;
        if (size < kBpfMinBufsize) size = kBpfMinBufsize;
        b.bufsize = size;
        return uint_answer(size);
    }
    if (req == dm::kBiocSetif) {
        // 2268-2281, bpf_setif 2866-2874: ENXIO for an unknown name; a
        // second BIOCSETIF detaches and re-attaches; the buffers are reset.
        dm::DarwinIfreq ifr{};
        std::memcpy(&ifr, in.data(), std::min(in.size(), sizeof ifr));
        ifr.ifr_name[sizeof ifr.ifr_name - 1] = '\0';
        std::string name = ifr.ifr_name;
        if (!linux_interface_exists(name)) return fail(ENXIO);
        if (c.packet >= 0) ::close(c.packet);
        c.packet = open_packet_socket(name);
        if (c.packet < 0) return fail(ENXIO);
        b.ifname = name;
        b.was_attached = true;
        b.store.clear();
        b.hold.clear();
        b.hold_busy = false;
        return {};
    }
    if (req == dm::kBiocImmediate) {
        b.immediate = !in.empty() && in[0] != 0; // 2361-2363: reads one byte
        return {};
    }
    if (req == dm::kBiocSseesent) {
        b.see_sent = load_uint(in) != 0;
        return {};
    }
    if (req == dm::kBiocPromisc) {
        if (!attached) return fail(EINVAL); // 2190-2205
        b.promisc = true;
        return {};
    }
    if (req == dm::kBiocGdlt) {
        if (!attached) return fail(EINVAL);
        return uint_answer(dm::kDltEn10mb);
    }
    if (req == dm::kBiocGstats) {
        Result r;
        unsigned stats[2] = {static_cast<unsigned>(b.received), static_cast<unsigned>(b.dropped)};
        r.out.resize(sizeof stats);
        std::memcpy(r.out.data(), stats, sizeof stats);
        return r;
    }
    return fail(EINVAL);
}

// ---- feth and interface ioctls on an AF_INET socket ----

std::string name_of(const dm::DarwinIfreq& ifr)
{
    return std::string(ifr.ifr_name, ::strnlen(ifr.ifr_name, sizeof ifr.ifr_name));
}

Result ifreq_answer(const dm::DarwinIfreq& ifr)
{
    Result r;
    r.out.resize(sizeof ifr);
    std::memcpy(r.out.data(), &ifr, sizeof ifr);
    return r;
}

// if_fake.c feth_clone_create (3537-3561): default MAC "feth" + unit, max
// MTU fixed from the sysctl now.
Result feth_create(const std::string& name, uid_t uid)
{
    if (uid != 0) return fail(EPERM); // ifioctl: SIOCIFCREATE2 needs root
    long unit = feth_unit(name);
    if (unit < 0) return fail(EINVAL); // no such cloner
    if (feths.count(name) != 0 || linux_interface_exists(name)) return fail(EEXIST);
    Feth f;
    f.unit = static_cast<unsigned>(unit);
    const std::uint8_t mac[6] = {'f', 'e', 't', 'h', static_cast<std::uint8_t>((unit >> 8) & 0xff),
                                 static_cast<std::uint8_t>(unit & 0xff)};
    std::memcpy(f.mac, mac, 6);
    f.max_mtu = max_mtu_sysctl;
    feths[name] = f;
    realize(name);
    return {};
}

// if_fake.c feth_clone_destroy (3686-3712): unpeers first, so the other
// half lives on, unpeered.
Result feth_destroy(const std::string& name, uid_t uid)
{
    if (uid != 0) return fail(EPERM);
    auto it = feths.find(name);
    if (it == feths.end()) return fail(ENXIO);
    std::string peer = it->second.peer;
    detach_readers(name);
    feths.erase(it);
    run_ip({"link", "del", "dev", name});
    if (!peer.empty() && feths.count(peer) != 0) {
        feths[peer].peer.clear();
        realize(peer);
    }
    return {};
}

// if_fake.c feth_set_drvspec IF_FAKE_S_CMD_SET_PEER (4040-4065).
Result feth_set_peer(const std::string& name, const std::vector<std::uint8_t>& in, uid_t uid)
{
    if (uid != 0) return fail(EPERM);
    dm::DarwinIfdrv drv;
    std::memcpy(&drv, in.data(), sizeof drv);
    if (drv.ifd_cmd != darwin::kIfFakeSetCmdSetPeer) return fail(EOPNOTSUPP);
    if (drv.ifd_len < sizeof(darwin::IfFakeRequest) || in.size() < sizeof drv + sizeof(darwin::IfFakeRequest))
        return fail(EINVAL);
    darwin::IfFakeRequest request;
    std::memcpy(&request, in.data() + sizeof drv, sizeof request);
    for (auto word : request.reserved)
        if (word != 0) return fail(EINVAL);
    std::string peer(darwin::peer_name_of(request));
    Feth& self = feths.at(name);
    if (peer.empty()) { // unpeer
        std::string old = self.peer;
        if (old.empty()) return {};
        self.peer.clear();
        feths[old].peer.clear();
        realize(name);
        realize(old);
        return {};
    }
    if (!linux_interface_exists(peer) && feths.count(peer) == 0) return fail(ENXIO);
    if (feths.count(peer) == 0 || peer == name) return fail(EINVAL); // not a feth
    if (!self.peer.empty() || !feths[peer].peer.empty()) return fail(EBUSY);
    self.peer = peer;
    feths[peer].peer = name;
    realize(name);
    return {};
}

Result feth_get_peer(const std::string& name, const std::vector<std::uint8_t>& in)
{
    dm::DarwinIfdrv drv;
    std::memcpy(&drv, in.data(), sizeof drv);
    if (drv.ifd_cmd != darwin::kIfFakeGetCmdGetPeer) return fail(EOPNOTSUPP);
    if (drv.ifd_len < sizeof(darwin::IfFakeRequest)) return fail(EINVAL);
    darwin::IfFakeRequest answer = darwin::make_set_peer_request(feths.at(name).peer);
    Result r;
    r.out.resize(sizeof drv + sizeof answer);
    std::memcpy(r.out.data(), &drv, sizeof drv);
    std::memcpy(r.out.data() + sizeof drv, &answer, sizeof answer);
    return r;
}

int linux_ifreq_call(unsigned long req, const std::string& name, int* value)
{
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    ::ifreq ifr{};
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (req == SIOCSIFMTU) ifr.ifr_mtu = *value;
    int rc = ::ioctl(s, req, &ifr);
    int err = errno;
    ::close(s);
    if (rc < 0) {
        errno = err;
        return -1;
    }
    if (req == SIOCGIFMTU) *value = ifr.ifr_mtu;
    if (req == SIOCGIFFLAGS) *value = ifr.ifr_flags;
    return 0;
}

Result inet_ioctl(Conn& c, unsigned long req, const std::vector<std::uint8_t>& in)
{
    if (req == dm::kSiocSdrvspec || req == dm::kSiocGdrvspec) {
        if (in.size() < sizeof(dm::DarwinIfdrv)) return fail(EINVAL);
        dm::DarwinIfdrv drv;
        std::memcpy(&drv, in.data(), sizeof drv);
        std::string name(drv.ifd_name, ::strnlen(drv.ifd_name, sizeof drv.ifd_name));
        if (feths.count(name) == 0) return fail(linux_interface_exists(name) ? EOPNOTSUPP : ENXIO);
        return req == dm::kSiocSdrvspec ? feth_set_peer(name, in, c.uid) : feth_get_peer(name, in);
    }
    dm::DarwinIfreq ifr{};
    std::memcpy(&ifr, in.data(), std::min(in.size(), sizeof ifr));
    const std::string name = name_of(ifr);
    if (req == dm::kSiocIfcreate2) return feth_create(name, c.uid);
    if (req == dm::kSiocIfdestroy) return feth_destroy(name, c.uid);
    auto it = feths.find(name);
    Feth* f = it != feths.end() ? &it->second : nullptr;
    if (f == nullptr) {
        // Not a feth (a utun, say): the Linux interface answers.
        int value = 0;
        if (req == dm::kSiocGifmtu) {
            if (linux_ifreq_call(SIOCGIFMTU, name, &value) < 0) return fail(ENXIO);
            ifr.ifr_mtu = value;
            return ifreq_answer(ifr);
        }
        if (req == dm::kSiocSifmtu) {
            if (c.uid != 0) return fail(EPERM);
            value = ifr.ifr_mtu;
            // if_utun.c utun_ioctl SIOCSIFMTU: [IF_MINMTU, UTUN max]
            if (value < static_cast<int>(darwin::kIfMinMtu) || value > 16384) return fail(EINVAL);
            if (linux_ifreq_call(SIOCSIFMTU, name, &value) < 0) return fail(errno == ENODEV ? ENXIO : errno);
            return {};
        }
        if (req == dm::kSiocGifflags) {
            if (linux_ifreq_call(SIOCGIFFLAGS, name, &value) < 0) return fail(ENXIO);
            ifr.ifr_flags = static_cast<short>(((value & IFF_UP) ? dm::kIffUp : 0) |
                                               ((value & IFF_RUNNING) ? dm::kIffRunning : 0));
            return ifreq_answer(ifr);
        }
        return fail(linux_interface_exists(name) ? EOPNOTSUPP : ENXIO);
    }
    if (req == dm::kSiocGifmtu) {
        ifr.ifr_mtu = static_cast<int>(f->mtu);
        return ifreq_answer(ifr);
    }
    if (req == dm::kSiocGifdevmtu) { // if_fake.c:4188-4193
        ifr.ifr_ifru.ifru_devmtu = {static_cast<int>(f->mtu), static_cast<int>(darwin::kIfMinMtu), static_cast<int>(f->max_mtu)};
        return ifreq_answer(ifr);
    }
    if (req == dm::kSiocSifmtu) { // if_fake.c:4195-4201
        if (c.uid != 0) return fail(EPERM);
        if (ifr.ifr_mtu < static_cast<int>(darwin::kIfMinMtu) || ifr.ifr_mtu > static_cast<int>(f->max_mtu))
            return fail(EINVAL);
        f->mtu = static_cast<unsigned>(ifr.ifr_mtu);
        run_ip({"link", "set", "dev", name, "mtu", std::to_string(f->mtu)});
        return {};
    }
    if (req == dm::kSiocGifflags) { // if_fake.c:4238-4249: RUNNING follows UP
        int flags = dm::kIffBroadcast | dm::kIffSimplex | dm::kIffMulticast;
        if (f->up) flags |= dm::kIffUp | dm::kIffRunning;
        ifr.ifr_flags = static_cast<short>(flags);
        return ifreq_answer(ifr);
    }
    if (req == dm::kSiocSifflags) {
        if (c.uid != 0) return fail(EPERM);
        f->up = (ifr.ifr_flags & dm::kIffUp) != 0;
        run_ip({"link", "set", "dev", name, f->up ? "up" : "down"});
        return {};
    }
    if (req == dm::kSiocSiflladdr) {
        if (c.uid != 0) return fail(EPERM);
        if (ifr.ifr_addr.sa_len != 6) return fail(EINVAL); // ifnet_set_lladdr: ETHER_ADDR_LEN
        std::memcpy(f->mac, ifr.ifr_addr.sa_data, 6);
        run_ip({"link", "set", "dev", name, "address", mac_text(f->mac)});
        return {};
    }
    return fail(EOPNOTSUPP);
}

// ---- NDRV (bsd/net/ndrv.c) ----

Result ndrv_bind(Conn& c, const std::vector<std::uint8_t>& in)
{
    // 365-433: the address names the interface; EINVAL when already bound.
    if (in.size() < sizeof(darwin::SockaddrNdrv)) return fail(EINVAL);
    if (!c.ndrv.bound.empty()) return fail(EINVAL);
    darwin::SockaddrNdrv sa;
    std::memcpy(&sa, in.data(), sizeof sa);
    std::string name(sa.snd_name, ::strnlen(sa.snd_name, sizeof sa.snd_name));
    if (!linux_interface_exists(name)) return fail(EADDRNOTAVAIL);
    c.ndrv.bound = name;
    if (c.packet >= 0) ::close(c.packet);
    c.packet = open_packet_socket(name);
    return {};
}

Result ndrv_send(Conn& c, const std::uint8_t* data, std::size_t len)
{
    if (!c.ndrv.connected && c.ndrv.bound.empty()) return fail(ENOTCONN);
    if (len > c.ndrv.sendspace) return fail(EMSGSIZE); // sosend: atomic, above the send space
    auto it = feths.find(c.ndrv.bound);
    if (it != feths.end()) {
        if (!it->second.up) return fail(ENETDOWN); // ndrv_output: the interface is down
        if (it->second.enobufs != 0) {
            --it->second.enobufs;
            return fail(ENOBUFS); // the driver's queue is full (injected)
        }
    }
    if (c.packet < 0) return fail(ENXIO); // the interface is gone
    if (::send(c.packet, data, len, MSG_DONTWAIT) < 0) return fail(errno == EAGAIN ? ENOBUFS : errno);
    Result r;
    r.value = static_cast<long>(len);
    return r;
}

// ---- utun (bsd/net/if_utun.c) ----

Result utun_connect(Conn& c, const std::vector<std::uint8_t>& in)
{
    if (in.size() < sizeof(dm::DarwinSockaddrCtl)) return fail(EINVAL);
    dm::DarwinSockaddrCtl sa;
    std::memcpy(&sa, in.data(), sizeof sa);
    if (sa.sc_id != kUtunControlId) return fail(ENOENT);
    if (c.utun.tun >= 0) return fail(EISCONN);
    if (c.uid != 0) return fail(EPERM); // CTL_FLAG_PRIVILEGED
    // kern_control.c ctl_connect: unit 0 = the next free one; N + 1 = utunN.
    unsigned unit = 0;
    if (sa.sc_unit == 0) {
        while (linux_interface_exists("utun" + std::to_string(unit))) ++unit;
    } else {
        unit = sa.sc_unit - 1;
        if (linux_interface_exists("utun" + std::to_string(unit))) return fail(EBUSY);
    }
    std::string name = "utun" + std::to_string(unit);
    int tun = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (tun < 0) return fail(errno);
    ::ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(tun, TUNSETIFF, &ifr) < 0) {
        int err = errno;
        ::close(tun);
        return fail(err);
    }
    c.utun.name = name;
    c.utun.tun = tun;
    return {};
}

// if_utun.c:2672/3586: the family goes up in network order.
Result utun_recv(Conn& c, std::size_t room)
{
    if (c.utun.tun < 0) return fail(ENOTCONN);
    std::vector<std::uint8_t> packet(65536 + 4);
    ssize_t n = ::read(c.utun.tun, packet.data() + 4, packet.size() - 4);
    if (n < 0) return fail(errno == EAGAIN ? EWOULDBLOCK : errno);
    std::uint32_t af = (n > 0 && (packet[4] >> 4) == 6) ? kDarwinAfInet6 : AF_INET;
    af = htonl(af);
    std::memcpy(packet.data(), &af, 4);
    std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(n) + 4, room);
    packet.resize(len);
    Result r;
    r.value = static_cast<long>(len);
    r.out = std::move(packet);
    return r;
}

// if_utun.c:2062-2066: the header's family is read in network order.
Result utun_send(Conn& c, const std::uint8_t* data, std::size_t len)
{
    if (c.utun.tun < 0) return fail(ENOTCONN);
    if (len < 4) return fail(EINVAL);
    std::uint32_t af;
    std::memcpy(&af, data, 4);
    af = ntohl(af);
    if (af != AF_INET && af != static_cast<std::uint32_t>(kDarwinAfInet6)) return fail(EAFNOSUPPORT);
    if (::write(c.utun.tun, data + 4, len - 4) < 0) return fail(errno == EAGAIN ? ENOBUFS : errno);
    Result r;
    r.value = static_cast<long>(len);
    return r;
}

// ---- sysctl net.link.fake.max_mtu (if_fake.c:351-373) ----

Result sysctl(Conn& c, const dm::Request& req, const std::vector<std::uint8_t>& in)
{
    auto nul = std::find(in.begin(), in.end(), 0);
    if (nul == in.end()) return fail(EINVAL);
    std::string name(in.begin(), nul);
    if (name != "net.link.fake.max_mtu") return fail(ENOENT);
    Result r;
    if (req.a >= sizeof(unsigned)) r.out = uint_answer(max_mtu_sysctl).out;
    if (req.b != 0) {
        if (c.uid != 0) return fail(EPERM); // CTLFLAG_RW: root only
        std::vector<std::uint8_t> value(nul + 1, in.end());
        if (value.size() != sizeof(unsigned)) return fail(EINVAL);
        unsigned v = load_uint(value);
        if (v > darwin::kFethLargestMaxMtu || v < kEtherMtu) return fail(EINVAL);
        max_mtu_sysctl = v;
    }
    return r;
}

// ---- dispatch ----

Result create(Conn& c, const dm::Request& req)
{
    if (req.op == dm::Op::OpenBpf) {
        // bpf.c bpfopen (997-1034): one opener per minor, EBUSY for another.
        if (req.a >= kBpfMaxDevices) return fail(ENOENT);
        if (bpf_minors[req.a] != nullptr) return fail(EBUSY);
        if (c.uid != 0) return fail(EACCES); // /dev/bpf* is root's, mode 0600
        c.type = Type::Bpf;
        c.bpf.minor = static_cast<unsigned>(req.a);
        bpf_minors[req.a] = &c;
        return {};
    }
    if (req.op == dm::Op::Socket) {
        const int domain = static_cast<int>(req.a), type = static_cast<int>(req.b & 0xff);
        if (domain == dm::kAfNdrv) {
            if (c.uid != 0) return fail(EPERM); // ndrv.c:250-251
            if (type != SOCK_RAW) return fail(EPROTOTYPE);
            c.type = Type::Ndrv;
            return {};
        }
        if (domain == dm::kPfSystem) {
            if (type != SOCK_DGRAM || static_cast<int>(req.c) != dm::kSysprotoControl) return fail(EPROTONOSUPPORT);
            c.type = Type::Utun;
            return {};
        }
        if (domain == AF_INET) {
            c.type = Type::Inet;
            return {};
        }
        return fail(EAFNOSUPPORT);
    }
    return fail(EBADF);
}

Result fault(Conn& c, const dm::Request& req, const std::vector<std::uint8_t>& in)
{
    if (c.uid != 0) return fail(EPERM);
    std::string name(in.begin(), std::find(in.begin(), in.end(), 0));
    auto it = feths.find(name);
    if (it == feths.end()) return fail(ENXIO);
    switch (static_cast<dm::Fault>(req.a)) {
    case dm::Fault::NdrvEnobufs: it->second.enobufs = static_cast<unsigned>(req.b); return {};
    case dm::Fault::BpfHoldFull: it->second.hold_full = static_cast<unsigned>(req.b); return {};
    case dm::Fault::BpfBatch:
        it->second.batch = static_cast<unsigned>(req.b);
        it->second.batch_since.reset();
        return {};
    case dm::Fault::RemoveInterface: {
        const uid_t uid = c.uid;
        return feth_destroy(name, uid);
    }
    }
    return fail(EINVAL);
}

Result handle(Conn& c, const dm::Request& req, const std::vector<std::uint8_t>& in)
{
    const bool nonblocking = (req.flags & dm::kNonBlocking) != 0;
    if (req.op == dm::Op::Sysctl) return sysctl(c, req, in);
    if (req.op == dm::Op::Fault) return fault(c, req, in);
    if (c.type == Type::Fresh) return create(c, req);
    switch (req.op) {
    case dm::Op::Ioctl:
        if (c.type == Type::Bpf) return bpf_ioctl(c, req.a, in);
        if (c.type == Type::Inet) return inet_ioctl(c, req.a, in);
        if (c.type == Type::Utun && req.a == dm::kCtliocGinfo) {
            dm::DarwinCtlInfo info{};
            std::memcpy(&info, in.data(), std::min(in.size(), sizeof info));
            info.ctl_name[sizeof info.ctl_name - 1] = '\0';
            if (std::strcmp(info.ctl_name, darwin::kUtunControlName) != 0) return fail(ENOENT);
            info.ctl_id = kUtunControlId;
            Result r;
            r.out.resize(sizeof info);
            std::memcpy(r.out.data(), &info, sizeof info);
            return r;
        }
        return fail(c.type == Type::Ndrv ? EOPNOTSUPP : ENOTTY);
    case dm::Op::Read:
        if (c.type == Type::Bpf) return bpf_read(c, req.a, nonblocking);
        return fail(EINVAL);
    case dm::Op::Recv:
        if (c.type == Type::Utun) return utun_recv(c, req.a);
        return fail(EOPNOTSUPP);
    case dm::Op::Send:
        if (c.type == Type::Ndrv) return ndrv_send(c, in.data(), in.size());
        if (c.type == Type::Utun) return utun_send(c, in.data(), in.size());
        return fail(EOPNOTSUPP);
    case dm::Op::Bind:
        if (c.type == Type::Ndrv) return ndrv_bind(c, in);
        return fail(EOPNOTSUPP);
    case dm::Op::Connect:
        if (c.type == Type::Ndrv) { // ndrv.c:318-339
            if (c.ndrv.connected) return fail(EISCONN);
            c.ndrv.connected = true;
            return {};
        }
        if (c.type == Type::Utun) return utun_connect(c, in);
        return fail(EOPNOTSUPP);
    case dm::Op::SetSockopt:
        if (static_cast<int>(req.a) == SOL_SOCKET && static_cast<int>(req.b) == SO_SNDBUF) {
            unsigned v = load_uint(in);
            if (c.type == Type::Ndrv) c.ndrv.sendspace = v;
            return {};
        }
        if (static_cast<int>(req.a) == SOL_SOCKET && static_cast<int>(req.b) == dm::kSoNosigpipe) return {};
        return fail(ENOPROTOOPT);
    case dm::Op::GetSockopt:
        if (c.type == Type::Utun && static_cast<int>(req.a) == dm::kSysprotoControl &&
            static_cast<int>(req.b) == kUtunOptIfname) {
            if (c.utun.tun < 0) return fail(ENOTCONN);
            Result r;
            r.out.assign(c.utun.name.begin(), c.utun.name.end());
            r.out.push_back(0);
            if (r.out.size() > req.c) return fail(EINVAL);
            return r;
        }
        return fail(ENOPROTOOPT);
    default: return fail(EINVAL);
    }
}

void close_conn(int fd)
{
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    Conn& c = *it->second;
    if (c.type == Type::Bpf && bpf_minors[c.bpf.minor] == &c) bpf_minors[c.bpf.minor] = nullptr;
    if (c.packet >= 0) ::close(c.packet);
    // if_utun.c: the interface goes with the last reference to its socket.
    if (c.utun.tun >= 0) ::close(c.utun.tun);
    ::close(fd);
    conns.erase(it);
}

void serve(Conn& c)
{
    static std::vector<std::uint8_t> buf(dm::kMaxMessage);
    ssize_t n = ::recv(c.fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || static_cast<std::size_t>(n) < sizeof(dm::Request)) {
        close_conn(c.fd);
        return;
    }
    dm::Request req;
    std::memcpy(&req, buf.data(), sizeof req);
    std::vector<std::uint8_t> in(buf.begin() + sizeof req, buf.begin() + n);
    if (req.op == dm::Op::Ioctl && in.size() < dm::ioc_len(req.a)) in.resize(dm::ioc_len(req.a), 0);
    c.token_pending = false; // the client skips every token before its answer
    Result r = handle(c, req, in);
    if (trace)
        std::fprintf(stderr, "fd %d type %d op %u a %#llx len %zu -> %ld errno %d out %zu\n", c.fd,
                     static_cast<int>(c.type), static_cast<unsigned>(req.op), static_cast<unsigned long long>(req.a),
                     in.size(), r.value, r.err, r.out.size());
    send_answer(c, r);
    maybe_token(c);
}

int listen_socket()
{
    int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, dm::kSocketName, sizeof dm::kSocketName - 1);
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + sizeof dm::kSocketName - 1);
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&addr), len) < 0 || ::listen(s, 64) < 0) {
        std::perror("darwin-modeld: listen");
        std::exit(1);
    }
    return s;
}

// How long the main loop may sleep: for ever, unless a batch that has
// begun filling must be handed over when its patience runs out.
int batch_wait_ms()
{
    for (const auto& [name, f] : feths)
        if (f.batch != 0 && f.batch_since) return 50;
    return -1;
}

void release_overdue_batches()
{
    const auto now = std::chrono::steady_clock::now();
    for (auto& [name, f] : feths)
        if (f.batch != 0 && f.batch_since && now - *f.batch_since >= kBatchPatience) release_batch(name, f);
}

} // namespace

// darwin-modeld --inject FAULT COUNT IFNAME: asks the running daemon of
// this namespace for a fault (model_protocol.hpp), for the e2e scripts.
int inject(int argc, char** argv)
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: darwin-modeld --inject ndrv-enobufs|bpf-hold-full|bpf-batch|remove COUNT IFNAME\n");
        return 2;
    }
    const std::string what = argv[2];
    dm::Fault fault = what == "ndrv-enobufs"    ? dm::Fault::NdrvEnobufs
                      : what == "bpf-hold-full" ? dm::Fault::BpfHoldFull
                      : what == "bpf-batch"     ? dm::Fault::BpfBatch
                      : what == "remove"        ? dm::Fault::RemoveInterface
                                                : static_cast<dm::Fault>(0);
    if (static_cast<unsigned>(fault) == 0) return inject(0, argv);
    int s = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, dm::kSocketName, sizeof dm::kSocketName - 1);
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + sizeof dm::kSocketName - 1);
    if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
        std::perror("darwin-modeld --inject: connect");
        return 1;
    }
    std::string name = argv[4];
    std::vector<std::uint8_t> msg(sizeof(dm::Request) + name.size() + 1, 0);
    dm::Request req{dm::Op::Fault, 0, static_cast<std::uint64_t>(fault), std::strtoull(argv[3], nullptr, 10), 0};
    std::memcpy(msg.data(), &req, sizeof req);
    std::memcpy(msg.data() + sizeof req, name.c_str(), name.size());
    dm::Answer answer{};
    if (::send(s, msg.data(), msg.size(), 0) < 0 || ::recv(s, &answer, sizeof answer, 0) < static_cast<ssize_t>(sizeof answer)) {
        std::perror("darwin-modeld --inject");
        return 1;
    }
    ::close(s);
    if (answer.result < 0) {
        std::fprintf(stderr, "darwin-modeld --inject: %s\n", std::strerror(answer.err));
        return 1;
    }
    return 0;
}

int main(int argc, char** argv)
{
    if (argc > 1 && std::string(argv[1]) == "--inject") return inject(argc, argv);
    ::signal(SIGPIPE, SIG_IGN);
    trace = std::getenv("DARWIN_MODELD_TRACE") != nullptr;
    const int listener = listen_socket();
    // Ready: the caller waits for this line.
    std::printf("darwin-modeld ready\n");
    std::fflush(stdout);
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<int> owner; // conn fd per entry; -1: listener
        std::vector<char> what; // 'l' listener, 'c' connection, 'p' packet, 't' tun
        fds.push_back({listener, POLLIN, 0});
        owner.push_back(-1);
        what.push_back('l');
        for (auto& [fd, c] : conns) {
            fds.push_back({fd, POLLIN, 0});
            owner.push_back(fd);
            what.push_back('c');
            if (c->type == Type::Bpf && c->packet >= 0) {
                fds.push_back({c->packet, POLLIN, 0});
                owner.push_back(fd);
                what.push_back('p');
            }
            if (c->type == Type::Utun && c->utun.tun >= 0 && !c->token_pending) {
                fds.push_back({c->utun.tun, POLLIN, 0});
                owner.push_back(fd);
                what.push_back('t');
            }
        }
        if (::poll(fds.data(), fds.size(), batch_wait_ms()) < 0) continue;
        release_overdue_batches();
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            if (what[i] == 'l') {
                int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) continue;
                auto c = std::make_unique<Conn>();
                c->fd = fd;
                ucred cred{};
                socklen_t len = sizeof cred;
                c->uid = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 ? cred.uid : 65534;
                int big = 2 * 1024 * 1024;
                (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
                conns[fd] = std::move(c);
                continue;
            }
            auto it = conns.find(owner[i]);
            if (it == conns.end()) continue;
            Conn& c = *it->second;
            if (what[i] == 'c') serve(c);
            else if (what[i] == 'p' && c.packet == fds[i].fd) drain_capture(c);
            else if (what[i] == 't') send_token(c);
        }
    }
}

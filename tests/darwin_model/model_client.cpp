// The model of xnu's client: tunnel/darwin/sys.hpp's calls in the model
// build. Each creating call (open of /dev/bpfN, socket, sysctlbyname)
// connects to the daemon; every other call is one request and one answer on
// the descriptor itself (model_protocol.hpp). Compiled with Linux's headers:
// the Darwin structures come from darwin_model/abi.hpp.
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "abi.hpp"
#include "model_client.hpp"
#include "tunnel/darwin/sys.hpp"

namespace feth::darwin_model {
namespace {

int connect_daemon(bool cloexec)
{
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | (cloexec ? SOCK_CLOEXEC : 0), 0);
    if (fd < 0) return -1;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, kSocketName, sizeof kSocketName - 1);
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + sizeof kSocketName - 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
        int err = errno;
        ::close(fd);
        errno = err == ENOENT || err == ECONNREFUSED ? ENXIO : err; // no model running: no such device
        return -1;
    }
    return fd;
}

void wait_for(int fd, short events)
{
    pollfd p{fd, events, 0};
    (void)::poll(&p, 1, -1);
}

// The answer's buffer, one per thread, sized for the largest message.
std::vector<std::uint8_t>& answer_buffer()
{
    thread_local std::vector<std::uint8_t> buf(kMaxMessage);
    return buf;
}

// One request and its answer on `fd`. The answer's payload (at most
// `room` bytes of it) goes to `out`. Returns the call's result, errno set
// when it is negative.
long transact(int fd, Op op, std::uint64_t a, std::uint64_t b, std::uint64_t c, const void* payload,
              std::size_t payload_len, void* out, std::size_t room, std::size_t* copied = nullptr)
{
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0) return -1; // EBADF
    Request req{op, (fl & O_NONBLOCK) != 0 ? kNonBlocking : 0, a, b, c};
    // One buffer, sent with send(): the sandboxed child may use sendto
    // without an address only, and a SEQPACKET message is one send.
    std::vector<std::uint8_t> flat(sizeof req + payload_len);
    std::memcpy(flat.data(), &req, sizeof req);
    if (payload_len != 0) std::memcpy(flat.data() + sizeof req, payload, payload_len);
    for (;;) {
        ssize_t n = ::send(fd, flat.data(), flat.size(), MSG_NOSIGNAL);
        if (n >= 0) break;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
            wait_for(fd, POLLOUT);
            continue;
        }
        if (errno == EPIPE || errno == ECONNRESET) errno = ENXIO; // the model went away
        return -1;
    }
    auto& buf = answer_buffer();
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                wait_for(fd, POLLIN);
                continue;
            }
            return -1;
        }
        if (n == 0) {
            errno = ENXIO;
            return -1;
        }
        if (static_cast<std::size_t>(n) < sizeof(Answer)) continue;
        Answer ans;
        std::memcpy(&ans, buf.data(), sizeof ans);
        if (ans.kind == Kind::Token) continue; // readiness, for poll(): seen by now
        std::size_t have = static_cast<std::size_t>(n) - sizeof ans;
        std::size_t take = have < room ? have : room;
        if (take != 0) std::memcpy(out, buf.data() + sizeof ans, take);
        if (copied != nullptr) *copied = take;
        if (ans.result < 0) errno = ans.err;
        return ans.result;
    }
}

// A creating request on a new connection: the connection is the new
// descriptor when the daemon agrees.
int create(bool cloexec, Op op, std::uint64_t a, std::uint64_t b, std::uint64_t c)
{
    int fd = connect_daemon(cloexec);
    if (fd < 0) return -1;
    if (transact(fd, op, a, b, c, nullptr, 0, nullptr, 0) < 0) {
        int err = errno;
        ::close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

bool is_blocking(int fd)
{
    int fl = ::fcntl(fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK) == 0;
}

// read and recv: a blocking descriptor waits for the daemon's token.
long read_like(Op op, int fd, void* buf, std::size_t len)
{
    for (;;) {
        long r = transact(fd, op, len, 0, 0, nullptr, 0, buf, len);
        if (r >= 0 || errno != EAGAIN || !is_blocking(fd)) return r;
        wait_for(fd, POLLIN);
    }
}

} // namespace

int inject_fault(Fault fault, std::uint32_t count, const std::string& ifname)
{
    int fd = connect_daemon(true);
    if (fd < 0) return -1;
    long r = transact(fd, Op::Fault, static_cast<std::uint64_t>(fault), count, 0, ifname.c_str(), ifname.size() + 1,
                      nullptr, 0);
    int err = errno;
    ::close(fd);
    errno = err;
    return r < 0 ? -1 : 0;
}

} // namespace feth::darwin_model

namespace feth::darwin::sys {

namespace dm = feth::darwin_model;

int open(const char* path, int flags)
{
    // Only bpf is modelled: /dev/bpf<minor>.
    const char* prefix = "/dev/bpf";
    std::size_t plen = std::strlen(prefix);
    if (std::strncmp(path, prefix, plen) != 0 || path[plen] == '\0') {
        errno = ENOENT;
        return -1;
    }
    unsigned long minor = 0;
    for (const char* p = path + plen; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9' || minor > 100000) {
            errno = ENOENT;
            return -1;
        }
        minor = minor * 10 + static_cast<unsigned long>(*p - '0');
    }
    return dm::create((flags & O_CLOEXEC) != 0, dm::Op::OpenBpf, minor, 0, 0);
}

ssize_t read(int fd, void* buf, std::size_t len)
{
    return dm::read_like(dm::Op::Read, fd, buf, len);
}

ssize_t recv(int fd, void* buf, std::size_t len, int /*flags*/)
{
    return dm::read_like(dm::Op::Recv, fd, buf, len);
}

ssize_t send(int fd, const void* buf, std::size_t len, int /*flags*/)
{
    return dm::transact(fd, dm::Op::Send, 0, 0, 0, buf, len, nullptr, 0);
}

ssize_t writev(int fd, const iovec* iov, int count)
{
    std::vector<std::uint8_t> flat;
    for (int i = 0; i < count; ++i) {
        const auto* p = static_cast<const std::uint8_t*>(iov[i].iov_base);
        flat.insert(flat.end(), p, p + iov[i].iov_len);
    }
    return dm::transact(fd, dm::Op::Send, 0, 0, 0, flat.data(), flat.size(), nullptr, 0);
}

int ioctl(int fd, unsigned long request, void* arg)
{
    const std::size_t len = dm::ioc_len(request);
    if (request == dm::kSiocSdrvspec || request == dm::kSiocGdrvspec) {
        // struct ifdrv points at its data: send both, copy both back.
        dm::DarwinIfdrv drv;
        std::memcpy(&drv, arg, sizeof drv);
        std::size_t data_len = drv.ifd_len < 4096 ? drv.ifd_len : 4096;
        std::vector<std::uint8_t> payload(sizeof drv + data_len);
        std::memcpy(payload.data(), &drv, sizeof drv);
        if (data_len != 0 && drv.ifd_data != nullptr) std::memcpy(payload.data() + sizeof drv, drv.ifd_data, data_len);
        std::vector<std::uint8_t> back(payload.size());
        std::size_t copied = 0;
        long r = dm::transact(fd, dm::Op::Ioctl, request, 0, 0, payload.data(), payload.size(), back.data(),
                              back.size(), &copied);
        if (r >= 0 && request == dm::kSiocGdrvspec && copied > sizeof drv && drv.ifd_data != nullptr)
            std::memcpy(drv.ifd_data, back.data() + sizeof drv, copied - sizeof drv);
        return static_cast<int>(r);
    }
    std::vector<std::uint8_t> in;
    if ((request & dm::kIocIn) != 0 && len != 0 && arg != nullptr)
        in.assign(static_cast<std::uint8_t*>(arg), static_cast<std::uint8_t*>(arg) + len);
    else
        in.assign(len, 0);
    std::size_t room = (request & dm::kIocOut) != 0 && arg != nullptr ? len : 0;
    return static_cast<int>(dm::transact(fd, dm::Op::Ioctl, request, 0, 0, in.data(), in.size(), arg, room));
}

int socket(int domain, int type, int protocol)
{
    return dm::create(true, dm::Op::Socket, static_cast<std::uint64_t>(domain), static_cast<std::uint64_t>(type),
                      static_cast<std::uint64_t>(protocol));
}

int bind(int fd, const sockaddr* addr, socklen_t len)
{
    return static_cast<int>(dm::transact(fd, dm::Op::Bind, 0, 0, 0, addr, len, nullptr, 0));
}

int connect(int fd, const sockaddr* addr, socklen_t len)
{
    return static_cast<int>(dm::transact(fd, dm::Op::Connect, 0, 0, 0, addr, len, nullptr, 0));
}

int setsockopt(int fd, int level, int name, const void* value, socklen_t len)
{
    return static_cast<int>(dm::transact(fd, dm::Op::SetSockopt, static_cast<std::uint64_t>(level),
                                         static_cast<std::uint64_t>(name), 0, value, len, nullptr, 0));
}

int getsockopt(int fd, int level, int name, void* value, socklen_t* len)
{
    std::size_t copied = 0;
    long r = dm::transact(fd, dm::Op::GetSockopt, static_cast<std::uint64_t>(level), static_cast<std::uint64_t>(name),
                          *len, nullptr, 0, value, *len, &copied);
    if (r >= 0) *len = static_cast<socklen_t>(copied);
    return static_cast<int>(r);
}

int sysctlbyname(const char* name, void* old_value, std::size_t* old_len, void* new_value, std::size_t new_len)
{
    int fd = dm::connect_daemon(true);
    if (fd < 0) return -1;
    std::vector<std::uint8_t> payload(name, name + std::strlen(name) + 1);
    if (new_value != nullptr)
        payload.insert(payload.end(), static_cast<std::uint8_t*>(new_value),
                       static_cast<std::uint8_t*>(new_value) + new_len);
    std::size_t room = old_value != nullptr && old_len != nullptr ? *old_len : 0;
    std::size_t copied = 0;
    long r = dm::transact(fd, dm::Op::Sysctl, room, new_value != nullptr ? 1 : 0, 0, payload.data(), payload.size(),
                          old_value, room, &copied);
    int err = errno;
    ::close(fd);
    if (r >= 0 && old_len != nullptr && old_value != nullptr) *old_len = copied;
    errno = err;
    return r < 0 ? -1 : 0;
}

// The model's interfaces are real Linux interfaces of the same names.
unsigned if_nametoindex(const char* name)
{
    return ::if_nametoindex(name);
}

struct if_nameindex* if_nameindex()
{
    return ::if_nameindex();
}

void if_freenameindex(struct if_nameindex* list)
{
    ::if_freenameindex(list);
}

namespace {

// One getifaddrs answer in Darwin's shape, kept until freeifaddrs.
struct LinkList {
    // A sockaddr_dl with room for a name of up to IFNAMSIZ and an address.
    struct alignas(8) Storage {
        unsigned char bytes[sizeof(darwin_model::DarwinSockaddrDl) + 16];
    };
    std::vector<ifaddrs> nodes;
    std::vector<Storage> addresses;
    std::vector<std::string> names;
};

std::mutex link_lists_mutex;
std::map<const ifaddrs*, std::unique_ptr<LinkList>>& link_lists()
{
    static std::map<const ifaddrs*, std::unique_ptr<LinkList>> lists;
    return lists;
}

} // namespace

// getifaddrs as Darwin answers the backends' question (a link-layer
// address, feth_pair.cpp): one AF_LINK entry, a struct sockaddr_dl with the
// name and then the 6-byte address (bsd/net/if_dl.h, LLADDR), per Ethernet
// interface. The model's interfaces are real Linux interfaces of the same
// names and addresses, whose AF_PACKET entries carry them. The backends
// read the family through the platform's struct sockaddr, whose family is
// 16 bits at offset 0 on Linux where Darwin has sa_len then sa_family: the
// family is written as Linux reads it, the rest in Darwin's layout (the
// length byte, which nothing reads, is lost to it).
int getifaddrs(struct ifaddrs** out)
{
    ifaddrs* found = nullptr;
    if (::getifaddrs(&found) != 0) return -1;
    auto list = std::make_unique<LinkList>();
    for (const ifaddrs* a = found; a != nullptr; a = a->ifa_next) {
        if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_PACKET) continue;
        const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
        const std::string name = a->ifa_name;
        if (ll->sll_halen != 6 || name.size() > 15) continue;
        LinkList::Storage st{};
        auto* dl = reinterpret_cast<darwin_model::DarwinSockaddrDl*>(st.bytes);
        dl->sdl_index = static_cast<std::uint16_t>(ll->sll_ifindex);
        dl->sdl_type = 6; // IFT_ETHER
        dl->sdl_nlen = static_cast<std::uint8_t>(name.size());
        dl->sdl_alen = 6;
        std::memcpy(dl->sdl_data, name.data(), name.size());
        std::memcpy(dl->sdl_data + name.size(), ll->sll_addr, 6);
        const sa_family_t family = static_cast<sa_family_t>(darwin_model::kAfLink);
        std::memcpy(st.bytes, &family, sizeof family);
        list->addresses.push_back(st);
        list->names.push_back(name);
    }
    ::freeifaddrs(found);
    list->nodes.resize(list->addresses.size());
    for (std::size_t i = 0; i < list->nodes.size(); ++i) {
        ifaddrs& n = list->nodes[i];
        n = ifaddrs{};
        n.ifa_next = i + 1 < list->nodes.size() ? &list->nodes[i + 1] : nullptr;
        n.ifa_name = list->names[i].data();
        n.ifa_addr = reinterpret_cast<sockaddr*>(list->addresses[i].bytes);
    }
    if (list->nodes.empty()) {
        *out = nullptr;
        return 0;
    }
    *out = list->nodes.data();
    std::lock_guard<std::mutex> lock(link_lists_mutex);
    link_lists()[*out] = std::move(list);
    return 0;
}

void freeifaddrs(struct ifaddrs* list)
{
    std::lock_guard<std::mutex> lock(link_lists_mutex);
    link_lists().erase(list);
}

// The host UUID: this machine's id (/etc/machine-id, 32 hex digits).
int gethostuuid(unsigned char* id, const timespec* /*wait*/)
{
    std::ifstream in("/etc/machine-id");
    std::string hex;
    if (!(in >> hex) || hex.size() < 32) {
        errno = ENOENT;
        return -1;
    }
    for (int i = 0; i < 16; ++i) id[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    return 0;
}

} // namespace feth::darwin::sys

#include "status.hpp"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "shared_memory.hpp"

namespace feth::server {
namespace {

constexpr int kSlots = 1024;

struct Slot {
    std::atomic<std::int32_t> owner; // pid of the monitor, negative while it fills the slot, 0: free
    // The whole name (login names are at most 255 bytes, pubkey_auth.cpp):
    // MaxTunnels compares it, and a cut name would count as another user.
    char user[256];
    char remote_address[64];
    char interface[16];
    char io_interface[16];
    char mode[16];
    std::uint32_t remote_port;
    std::int64_t started;
    std::uint64_t frames_out, bytes_out, frames_in, bytes_in, dropped, device_busy, oversize;
};
static_assert(std::atomic<std::int32_t>::is_always_lock_free);

// The table's lock: the pid of the monitor holding it, 0 when free. Held
// only to count a user's slots and claim one (MaxTunnels), never across a
// blocking call; a holder that died (SIGKILL) is seen gone and the lock
// taken over, so no monitor can wedge the others.
struct Header {
    std::atomic<std::int32_t> lock_owner;
    char pad[60];
};
static_assert(sizeof(Header) % alignof(Slot) == 0);

Header* g_header = nullptr;
Slot* g_table = nullptr;
// The table's memory as a descriptor: what the listener hands each
// connection's session program, which maps it again after its exec.
UniqueFd g_table_fd;

constexpr std::size_t kMapSize = sizeof(Header) + sizeof(Slot) * kSlots;

class TableLock {
public:
    TableLock()
    {
        const std::int32_t me = static_cast<std::int32_t>(::getpid());
        for (unsigned spins = 0;; ++spins) {
            std::int32_t expected = 0;
            if (g_header->lock_owner.compare_exchange_weak(expected, me, std::memory_order_acquire)) return;
            if (expected != 0 && ::kill(expected, 0) != 0 && errno == ESRCH) {
                // The holder died inside its few instructions: take over.
                if (g_header->lock_owner.compare_exchange_strong(expected, me, std::memory_order_acquire)) return;
                continue;
            }
            if (spins > 64) std::this_thread::yield();
        }
    }
    ~TableLock() { g_header->lock_owner.store(0, std::memory_order_release); }
    TableLock(const TableLock&) = delete;
    TableLock& operator=(const TableLock&) = delete;
};

void copy_text(char* dst, std::size_t size, const std::string& src)
{
    std::size_t n = std::min(size - 1, src.size());
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

// Slot text came from a less trusted process: bounded and printable only.
std::string read_text(const char* src, std::size_t size)
{
    std::string out;
    for (std::size_t i = 0; i < size && src[i] != '\0'; ++i) {
        unsigned char c = static_cast<unsigned char>(src[i]);
        out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '?';
    }
    return out;
}

} // namespace

std::vector<TunnelStatus> status_table_snapshot()
{
    std::vector<TunnelStatus> out;
    if (g_table == nullptr) return out;
    for (int i = 0; i < kSlots; ++i) {
        const Slot& s = g_table[i];
        // Negative: reserved for a tunnel still opening (no device yet).
        if (s.owner.load(std::memory_order_acquire) <= 0) continue;
        TunnelStatus t;
        t.user = read_text(s.user, sizeof s.user);
        t.remote_address = read_text(s.remote_address, sizeof s.remote_address);
        t.interface = read_text(s.interface, sizeof s.interface);
        t.io_interface = read_text(s.io_interface, sizeof s.io_interface);
        t.mode = read_text(s.mode, sizeof s.mode);
        t.remote_port = s.remote_port;
        t.started = s.started;
        t.stats.frames_to_peer = s.frames_out;
        t.stats.bytes_to_peer = s.bytes_out;
        t.stats.frames_from_peer = s.frames_in;
        t.stats.bytes_from_peer = s.bytes_in;
        t.stats.dropped_from_device = s.dropped;
        t.stats.device_busy = s.device_busy;
        t.stats.dropped_oversize = s.oversize;
        out.push_back(std::move(t));
    }
    return out;
}

TunnelCounters counters_of(const PumpStats& st)
{
    TunnelCounters c;
    c.frames_out = st.frames_to_peer;
    c.bytes_out = st.bytes_to_peer;
    c.frames_in = st.frames_from_peer;
    c.bytes_in = st.bytes_from_peer;
    c.dropped = st.dropped_from_device + st.dropped_from_peer + st.dropped_device_full + st.dropped_oversize;
    c.device_busy = st.device_busy;
    c.oversize = st.dropped_oversize;
    return c;
}

namespace {

void map_table(int fd)
{
    void* p = ::mmap(nullptr, kMapSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) throw_errno("status table", "mmap");
    g_header = static_cast<Header*>(p);
    g_table = reinterpret_cast<Slot*>(static_cast<char*>(p) + sizeof(Header));
}

} // namespace

void create_status_table()
{
    if (g_table != nullptr) return;
    // zero-filled: the lock free, every slot free
    g_table_fd = open_shared_memory(kMapSize, "status table");
    map_table(g_table_fd.get());
}

int status_table_fd()
{
    return g_table_fd.get();
}

void attach_status_table(UniqueFd fd)
{
    if (g_table != nullptr || !fd) return;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("status table", "fstat");
    if (static_cast<std::size_t>(st.st_size) != kMapSize)
        throw InputError("status table: the descriptor holds " + std::to_string(st.st_size) + " bytes, not " +
                         std::to_string(kMapSize));
    map_table(fd.get());
    // Mapped: the descriptor is not needed any more (and no child gets it).
}

void unmap_status_table()
{
    if (g_table == nullptr) return;
    // Nothing to recover from: a table left mapped is what this prevents.
    if (::munmap(g_header, kMapSize) != 0) throw_errno("status table", "munmap");
    g_table = nullptr;
    g_header = nullptr;
    // Only a forked child unmaps, after its descriptors were rearranged:
    // the number may name another file now (its copy closed on exec or by
    // arrange_descriptors), so it is forgotten, never closed.
    (void)g_table_fd.release();
}

int release_status_slots(pid_t owner)
{
    if (g_table == nullptr || owner <= 0) return 0;
    const auto pid = static_cast<std::int32_t>(owner);
    int released = 0;
    for (int i = 0; i < kSlots; ++i) {
        std::int32_t o = g_table[i].owner.load(std::memory_order_acquire);
        if (o != pid && o != -pid) continue;
        g_table[i].owner.store(0, std::memory_order_release);
        ++released;
    }
    return released;
}

StatusSlot::StatusSlot(const std::string& user, const std::string& remote_address, unsigned remote_port,
                       const Device& device)
{
    if (g_table == nullptr) return;
    const std::int32_t me = static_cast<std::int32_t>(::getpid());
    for (int i = 0; i < kSlots; ++i) {
        std::int32_t expected = 0;
        if (!g_table[i].owner.compare_exchange_strong(expected, -me)) continue;
        index_ = i;
        fill_reserved(user, remote_address, remote_port);
        set_device(device);
        return;
    }
    LOG_VERBOSE("status table full: %s will not show in feth-sshd -S", device.name().c_str());
}

std::unique_ptr<StatusSlot> StatusSlot::reserve(const std::string& user, const std::string& remote_address,
                                                unsigned remote_port, unsigned limit, unsigned& in_use)
{
    in_use = 0;
    auto slot = std::make_unique<StatusSlot>(Reserved{});
    if (g_table == nullptr) return slot; // no table: nothing shared to count
    const std::int32_t me = static_cast<std::int32_t>(::getpid());
    TableLock lock;
    int free_slot = -1;
    for (int i = 0; i < kSlots; ++i) {
        const Slot& s = g_table[i];
        if (s.owner.load(std::memory_order_acquire) == 0) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        // Slot text is written under this lock before the owner can be
        // seen: a NUL-terminated copy of the name the monitor gave.
        if (std::strncmp(s.user, user.c_str(), sizeof s.user) == 0) ++in_use;
    }
    if (in_use >= limit) return nullptr;
    if (free_slot < 0) {
        LOG_VERBOSE("status table full: a tunnel of %s will not show in feth-sshd -S nor count for MaxTunnels",
                    user.c_str());
        return slot;
    }
    std::int32_t expected = 0;
    // Under the lock nobody else claims; the CAS keeps the old protocol.
    if (!g_table[free_slot].owner.compare_exchange_strong(expected, -me)) return slot;
    slot->index_ = free_slot;
    slot->fill_reserved(user, remote_address, remote_port);
    return slot;
}

void StatusSlot::fill_reserved(const std::string& user, const std::string& remote_address, unsigned remote_port)
{
    Slot& s = g_table[index_];
    copy_text(s.user, sizeof s.user, user);
    copy_text(s.remote_address, sizeof s.remote_address, remote_address);
    s.interface[0] = s.io_interface[0] = s.mode[0] = '\0';
    s.remote_port = remote_port;
    s.started = static_cast<std::int64_t>(std::time(nullptr));
    s.frames_out = s.bytes_out = s.frames_in = s.bytes_in = s.dropped = s.device_busy = s.oversize = 0;
}

void StatusSlot::set_device(const Device& device)
{
    if (index_ < 0 || g_table == nullptr) return;
    Slot& s = g_table[index_];
    copy_text(s.interface, sizeof s.interface, device.name());
    copy_text(s.io_interface, sizeof s.io_interface, device.io_name());
    copy_text(s.mode, sizeof s.mode, tun_mode_name(device.mode()));
    s.started = static_cast<std::int64_t>(std::time(nullptr));
    s.owner.store(static_cast<std::int32_t>(::getpid()), std::memory_order_release); // now visible to the listener
}

StatusSlot::~StatusSlot()
{
    if (index_ >= 0 && g_table != nullptr) g_table[index_].owner.store(0, std::memory_order_release);
}

void StatusSlot::update(const TunnelCounters& c)
{
    if (index_ < 0 || g_table == nullptr) return;
    Slot& s = g_table[index_];
    s.frames_out = c.frames_out;
    s.bytes_out = c.bytes_out;
    s.frames_in = c.frames_in;
    s.bytes_in = c.bytes_in;
    s.dropped = c.dropped;
    s.device_busy = c.device_busy;
    s.oversize = c.oversize;
}

std::string render_status(const std::vector<TunnelStatus>& tunnels, bool json, std::int64_t now)
{
    std::string out;
    char line[1024];
    if (json) out += "[";
    bool first = true;
    for (const auto& t : tunnels) {
        const long long up = now > t.started ? now - t.started : 0;
        const auto& s = t.stats;
        if (json) {
            std::snprintf(line, sizeof line,
                          "%s\n {\"user\":\"%s\",\"remote_address\":\"%s\",\"remote_port\":%u,\"interface\":\"%s\","
                          "\"io_interface\":\"%s\",\"mode\":\"%s\",\"uptime_s\":%lld,\"frames_out\":%llu,"
                          "\"bytes_out\":%llu,\"frames_in\":%llu,\"bytes_in\":%llu,\"dropped\":%llu,\"dropped_oversize\":%llu,\"device_busy\":%llu}",
                          first ? "" : ",", t.user.c_str(), t.remote_address.c_str(), t.remote_port,
                          t.interface.c_str(), t.io_interface.c_str(), t.mode.c_str(), up,
                          static_cast<unsigned long long>(s.frames_to_peer),
                          static_cast<unsigned long long>(s.bytes_to_peer),
                          static_cast<unsigned long long>(s.frames_from_peer),
                          static_cast<unsigned long long>(s.bytes_from_peer),
                          static_cast<unsigned long long>(s.dropped_from_device),
                          static_cast<unsigned long long>(s.dropped_oversize),
                          static_cast<unsigned long long>(s.device_busy));
        } else {
            std::snprintf(line, sizeof line,
                          "%s from %s port %u: %s%s%s %s up %llds out %llu frames %llu bytes in %llu frames %llu "
                          "bytes dropped %llu oversize %llu device busy %llu\n",
                          t.user.c_str(), t.remote_address.c_str(), t.remote_port, t.interface.c_str(),
                          t.io_interface.empty() ? "" : "/", t.io_interface.c_str(), t.mode.c_str(), up,
                          static_cast<unsigned long long>(s.frames_to_peer),
                          static_cast<unsigned long long>(s.bytes_to_peer),
                          static_cast<unsigned long long>(s.frames_from_peer),
                          static_cast<unsigned long long>(s.bytes_from_peer),
                          static_cast<unsigned long long>(s.dropped_from_device),
                          static_cast<unsigned long long>(s.dropped_oversize),
                          static_cast<unsigned long long>(s.device_busy));
        }
        out += line;
        first = false;
    }
    if (json) out += tunnels.empty() ? "]\n" : "\n]\n";
    else if (tunnels.empty()) out += "no tunnels\n";
    return out;
}

UniqueFd open_status_socket(const std::string& path)
{
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path) throw InputError("StatusSocket " + path + ": bad path");
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::nonblocking);
    if (!fd) throw_errno("StatusSocket " + path, "socket");
    ::unlink(path.c_str()); // a stale socket from a previous run
    mode_t old = ::umask(077); // root only: it shows who is connected from where
    int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    if (rc != 0) throw_errno("StatusSocket " + path, "bind");
    if (::listen(fd.get(), 8) != 0) throw_errno("StatusSocket " + path, "listen");
    return fd;
}

void answer_status_request(int listen_fd)
{
    // Blocking, so that the timeouts below bound the read and the writes
    // (on macOS accept() would hand over the listener's O_NONBLOCK).
    UniqueFd c = accept_socket(listen_fd, nullptr, nullptr, IoMode::blocking);
    if (!c) return;
    // The request is one byte: 'j' for JSON, anything else for text. Never
    // wait long on a client that says nothing.
    timeval tv{1, 0};
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req = 't';
    if (::read(c.get(), &req, 1) != 1) return;
    std::string text = render_status(status_table_snapshot(), req == 'j', static_cast<std::int64_t>(std::time(nullptr)));
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::send(c.get(), p, left, MSG_NOSIGNAL);
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

int print_status(const std::string& path, bool json)
{
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        std::fprintf(stderr, "feth-sshd: no StatusSocket configured\n");
        return 255;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::blocking);
    if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::fprintf(stderr, "feth-sshd: cannot reach the running server at %s: %s\n", path.c_str(),
                     errno_text(errno).c_str());
        return 255;
    }
    char req = json ? 'j' : 't';
    if (::write(fd.get(), &req, 1) != 1) return 255;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n <= 0) break;
        std::fwrite(buf, 1, static_cast<std::size_t>(n), stdout);
    }
    return 0;
}

} // namespace feth::server

// The hostile child: the real root monitor (run_monitor, linked from
// feth_server) against a stand-in for its unprivileged child that speaks the
// monitor protocol the way a child taken over by a bug in libssh could.
//
// Processes, as in feth-sshd:
//
//   this program (root, in a network namespace of its own: the "driver",
//   | which plays the listener: status table, reaping, MaxStartups pipe)
//   +-- monitor process: run_monitor(), exactly as the listener calls it
//       +-- child: chrooted and unprivileged by run_monitor as for real,
//           then OUR serve_connection (below) instead of connection.cpp
//
// The "network socket" the child is given is a socketpair to the driver:
// the child reports what it did on it, one line at a time ("pid 123",
// "tunnel 1 tap0"), and the driver closing its end tells a waiting child to
// go. Each scenario is a pair of functions, one run in the child and one in
// the driver, in the table at the end; after each, the driver checks what
// every scenario must leave behind: the monitor's exit status, the lines it
// logged, no network interface, no process, no status slot.
//
// Usage: hostile_child [SCENARIO...]   (none: all). Needs root; exit 77
// (skipped) without it, without /dev/net/tun, or when unshare(CLONE_NEWNET)
// is refused.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/syscall.h>
#include <netinet/tcp.h>
#include <linux/futex.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <libssh/libssh.h>

#include "config/server_config.hpp"
#include "server/connection.hpp"
#include "server/handover.hpp"
#include "server/host_keys.hpp"
#include "server/privsep.hpp"
#include "server/privsep_wire.hpp"
#include "server/sandbox.hpp"
#include "server/pubkey_auth.hpp"
#include "server/source_limits.hpp"
#include "server/status.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "tunnel/linux/rtnetlink.hpp"
#include "base/log.hpp"
#include "tunnel/ssh_algorithms.hpp"
#include "tunnel/ssh_handles.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using feth::UniqueFd;
using feth::server::MonitorClient;
using feth::server::privsep::Message;
using feth::server::privsep::MsgType;
namespace privsep = feth::server::privsep;

// LoginGraceTime for every scenario: small, so that the pre-auth deadline
// shows in seconds.
constexpr int kLoginGrace = 2;
// The monitor's bound on a message after authentication
// (privsep_monitor.cpp kMessageDeadline).
constexpr auto kMessageBound = 10s;
// MaxAuthTries for every scenario.
constexpr unsigned kMaxAuthTries = 3;
// Slack for a loaded two-core machine, times FETH_E2E_TIME_SCALE (a
// sanitizer build runs several times slower; ctest sets it).
std::chrono::milliseconds slack()
{
    const char* scale = std::getenv("FETH_E2E_TIME_SCALE");
    const int n = scale != nullptr ? std::atoi(scale) : 1;
    return std::chrono::milliseconds(3000) * std::max(1, n);
}

const feth::server::Peer kPeer{"198.18.0.2", 4242};

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] void failf(const std::string& what) { throw Failure(what); }

// ---- what the driver prepared, shared with the child through fork ----------

struct Scenario;

struct Setup {
    std::string dir;      // temporary: authorized_keys, logs
    std::string user = "root";
    feth::KeyPtr user_key; // the user's private key: the hostile child signs with it
    std::string key_blob;  // its public blob (wire format); in authorized_keys
    std::string key_line;  // "ssh-ed25519 AAAA..."
    feth::server::HostKeys host_keys; // private: for the monitor only
    feth::KeyPtr host_pub;
    std::string host_blob;
    uid_t nobody = 65534;
    feth::server::ConfigSource source; // what the child parses (handover.hpp)
    feth::config::ServerConfig cfg;
    feth::server::PrivsepIdentity identity;
    const Scenario* scenario = nullptr;
    int leaked_dir = -1; // sandbox_open_leak: /etc, inherited by monitor and child
    int leaked_file = -1; // sandbox_fsize: a regular file open for writing, inherited too
    std::string leaked_file_path;
};
Setup g;

// ---- the child's side ---------------------------------------------------------

struct ChildCtx {
    int net;                 // to the driver
    MonitorClient& monitor;  // the real client, for the honest parts
    int mon() const { return monitor.socket_fd(); }
};

void report(const ChildCtx& c, const std::string& line)
{
    std::string l = line + "\n";
    (void)!::write(c.net, l.data(), l.size());
}

// Blocks until the driver says go (one byte): the driver's checks of the
// state so far come first.
void wait_for_go(const ChildCtx& c)
{
    char b = 0;
    if (::read(c.net, &b, 1) != 1) failf("the driver went away");
}

// Blocks until the driver closes its end (or this process is killed).
void wait_for_driver(const ChildCtx& c)
{
    char buf[64];
    while (::read(c.net, buf, sizeof buf) > 0) {
    }
}

void send_raw(int fd, const void* data, std::size_t len)
{
    if (::send(fd, data, len, MSG_NOSIGNAL) != static_cast<ssize_t>(len)) feth::throw_errno("hostile child", "send");
}

using AuthAnswer = MonitorClient::AuthAnswer;

std::string random_bytes(std::size_t n)
{
    std::string out(n, '\0');
    if (::getrandom(out.data(), n, 0) != static_cast<ssize_t>(n)) feth::throw_errno("hostile child", "getrandom");
    return out;
}

struct SshString {
    ssh_string s;
    explicit SshString(const std::string& b) : s(ssh_string_new(b.size())) { ssh_string_fill(s, b.data(), b.size()); }
    ~SshString() { ssh_string_free(s); }
};

// The first HostKeySign of a connection: from now on the monitor's session
// id is `hash`. The signature must be the host key's, over `hash`.
std::string fix_session_id(const ChildCtx& c, const std::string& hash)
{
    const std::string sig = c.monitor.sign_exchange_hash("ssh-ed25519", g.host_blob, hash);
    SshString blob(sig);
    if (ssh_pki_verify_data_blob(g.host_pub.get(), "ssh-ed25519", blob.s,
                                 reinterpret_cast<const unsigned char*>(hash.data()), hash.size()) != SSH_OK)
        failf("the monitor's host key signature does not verify");
    return hash;
}

// What an honest client signs for `user` in the session `session_id`.
std::string user_signature(const std::string& session_id, const std::string& user)
{
    const auto data = feth::server::userauth_signed_data(session_id, user, "ssh-connection", "publickey",
                                                         "ssh-ed25519", g.key_blob, "");
    ssh_string sig = nullptr;
    if (ssh_pki_sign_data_blob(g.user_key.get(), "ssh-ed25519", data.data(), data.size(), &sig) != SSH_OK)
        failf("cannot sign as the user");
    std::string out(static_cast<const char*>(ssh_string_data(sig)), ssh_string_len(sig));
    ssh_string_free(sig);
    return out;
}

AuthAnswer verify(const ChildCtx& c, const std::string& user, const std::string& signature)
{
    return c.monitor.verify_publickey(user, "ssh-connection", "publickey", "ssh-ed25519", g.key_blob, "", signature);
}

// The protocol as an honest child speaks it, with a signature the user's
// key really made over the session id the monitor fixed: the way in for
// the scenarios that attack what comes after authentication.
void authenticate(const ChildCtx& c)
{
    const std::string sid = fix_session_id(c, random_bytes(32));
    if (c.monitor.key_allowed(g.user, g.key_blob) != AuthAnswer::Accepted) failf("KeyAllowed refused");
    if (verify(c, g.user, user_signature(sid, g.user)) != AuthAnswer::Accepted) failf("a good signature was refused");
    report(c, "auth");
}

MonitorClient::Tunnel open_tap(const ChildCtx& c)
{
    auto t = c.monitor.open_tunnel_and_wait(static_cast<std::uint32_t>(feth::TunMode::Ethernet), feth::kTunUnitAny);
    if (!t.ok) failf("TunOpen refused: " + t.reason);
    report(c, "tunnel " + std::to_string(t.id) + " " + t.device->name());
    return t;
}

Message tun_stats(std::uint32_t id, std::uint64_t base)
{
    Message m(MsgType::TunStats);
    m.put_u32(id);
    for (std::uint64_t i = 0; i < privsep::kTunStatsCounters; ++i) m.put_u64(base + i);
    return m;
}

// ---- the driver's side --------------------------------------------------------

// One connection: the monitor process and what the driver holds of it.
struct Run {
    std::string name;
    pid_t monitor = -1;
    bool monitor_reaped = false;
    int monitor_status = 0;
    pid_t child = -1;
    UniqueFd net;     // the driver's end of the child's "network socket"
    UniqueFd startup; // MaxStartups: closed by the monitor at authentication
    std::string log_path;
    std::string pending; // read from `net`, not yet a whole line
    Clock::time_point started = Clock::now();

    std::string log() const
    {
        std::ifstream in(log_path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    bool logged(const std::string& text) const { return log().find(text) != std::string::npos; }
    void expect_logged(const std::string& text) const
    {
        if (!logged(text)) failf("the log has no line with \"" + text + "\"");
    }
    // For a line that may follow what the driver saw by a moment.
    void await_logged(const std::string& text, std::chrono::milliseconds timeout = 2000ms) const
    {
        const auto end = Clock::now() + timeout;
        while (!logged(text)) {
            if (Clock::now() >= end) failf("the log has no line with \"" + text + "\"");
            std::this_thread::sleep_for(10ms);
        }
    }
    void expect_not_logged(const std::string& text) const
    {
        if (logged(text)) failf("the log has a line with \"" + text + "\"");
    }

    // The child's next line, within `timeout`.
    std::string line(std::chrono::milliseconds timeout = 5000ms)
    {
        const auto end = Clock::now() + timeout;
        for (;;) {
            if (auto nl = pending.find('\n'); nl != std::string::npos) {
                std::string l = pending.substr(0, nl);
                pending.erase(0, nl + 1);
                if (l.rfind("error ", 0) == 0) failf("the child failed: " + l.substr(6));
                return l;
            }
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
            if (left <= 0) failf("no line from the child in time (have \"" + pending + "\")");
            pollfd p{net.get(), POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
            char buf[512];
            ssize_t n = ::read(net.get(), buf, sizeof buf);
            if (n <= 0) failf("the child's socket closed (have \"" + pending + "\")");
            pending.append(buf, static_cast<std::size_t>(n));
        }
    }
    // Lets a child waiting in wait_for_go() on.
    void go()
    {
        if (::write(net.get(), "g", 1) != 1) failf("cannot write to the child");
    }
    // The next line must start with `word`; returns the rest.
    std::string expect(const std::string& word, std::chrono::milliseconds timeout = 5000ms)
    {
        std::string l = line(timeout);
        if (l.rfind(word, 0) != 0) failf("expected \"" + word + "...\" from the child, got \"" + l + "\"");
        return l.size() > word.size() ? l.substr(word.size() + 1) : std::string();
    }

    // Waits for the monitor to exit; false when it did not within `timeout`.
    bool wait_monitor(std::chrono::milliseconds timeout)
    {
        const auto end = Clock::now() + timeout;
        while (!monitor_reaped) {
            pid_t r = ::waitpid(monitor, &monitor_status, WNOHANG);
            if (r == monitor) monitor_reaped = true;
            else if (Clock::now() >= end) return false;
            else std::this_thread::sleep_for(10ms);
        }
        return true;
    }
    void expect_monitor_exit(std::chrono::milliseconds timeout, int status = 0)
    {
        if (!wait_monitor(timeout))
            failf("the monitor did not exit within " + std::to_string(timeout.count()) + " ms");
        if (!WIFEXITED(monitor_status) || WEXITSTATUS(monitor_status) != status)
            failf("the monitor ended with wait status " + std::to_string(monitor_status) + ", expected exit " +
                  std::to_string(status));
    }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - started).count(); }
};

// Interfaces in our namespace other than lo.
std::vector<std::string> interfaces()
{
    std::vector<std::string> out;
    if (struct if_nameindex* list = ::if_nameindex()) {
        for (auto* p = list; p->if_index != 0 && p->if_name != nullptr; ++p)
            if (std::strcmp(p->if_name, "lo") != 0) out.emplace_back(p->if_name);
        ::if_freenameindex(list);
    }
    return out;
}

bool wait_for(std::chrono::milliseconds timeout, const std::function<bool()>& cond)
{
    const auto end = Clock::now() + timeout;
    while (!cond()) {
        if (Clock::now() >= end) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

bool interface_gone(const std::string& name) { return ::if_nametoindex(name.c_str()) == 0; }

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The lines of /proc/PID/maps that are shared and writable: the status
// table is one (an anonymous MAP_SHARED mapping, "/dev/zero (deleted)").
std::vector<std::string> shared_writable_mappings(pid_t pid)
{
    std::vector<std::string> out;
    std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/maps"));
    for (std::string l; std::getline(in, l);) {
        std::istringstream f(l);
        std::string range, perms;
        f >> range >> perms;
        if (perms.size() == 4 && perms[1] == 'w' && perms[3] == 's') out.push_back(l);
    }
    return out;
}

// ---- the scenarios ---------------------------------------------------------------

// (a) M1: a tap the child made persistent, gave to nobody and dup'ed goes
// when the child closes the tunnel (while it still holds the dup) ...
void child_keep_alive(ChildCtx& c, bool close_it)
{
    authenticate(c);
    auto t = open_tap(c);
    const int fd = t.device->read_fd();
    report(c, "persist " + std::to_string(::ioctl(fd, TUNSETPERSIST, 1) == 0 ? 0 : errno));
    report(c, "owner " + std::to_string(::ioctl(fd, TUNSETOWNER, static_cast<unsigned long>(g.nobody)) == 0 ? 0 : errno));
    int copy = ::dup(fd);
    report(c, "dup " + std::to_string(copy >= 0 ? 0 : errno));
    if (close_it) {
        wait_for_go(c);
        t.device.reset(); // as the real child does, then TunClose
        c.monitor.close_tunnel(t.id);
        report(c, "closed");
    }
    wait_for_driver(c); // holding `copy`
}

std::string driver_keep_alive(Run& r, bool close_it)
{
    r.expect("auth");
    // MaxStartups: the monitor closed its end at authentication.
    pollfd p{r.startup.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1 || (p.revents & (POLLHUP | POLLIN)) == 0)
        failf("the MaxStartups pipe was not closed at authentication");
    std::string rest = r.expect("tunnel");
    const std::string dev = rest.substr(rest.find(' ') + 1);
    // N3: the sandbox refuses both (sandbox_linux.cpp, ioctl_rules); the
    // monitor's removal below does not depend on it.
    if (r.expect("persist") != std::to_string(EPERM)) failf("TUNSETPERSIST was not refused with EPERM in the child");
    if (r.expect("owner") != std::to_string(EPERM)) failf("TUNSETOWNER was not refused with EPERM in the child");
    // The sandbox refuses copies of descriptors (sandbox_linux.cpp); the
    // child still holds the tap it was given.
    if (const std::string dup = r.expect("dup"); dup != "0" && dup != std::to_string(EACCES))
        failf("dup failed in the child with " + dup + ", not the sandbox's EACCES");
    if (interface_gone(dev)) failf(dev + " is not there while the tunnel is open");
    // M2: the monitor wrote the slot: user and address are its own.
    auto slots = feth::server::status_table_snapshot();
    if (slots.size() != 1 || slots[0].interface != dev || slots[0].user != g.user ||
        slots[0].remote_address != kPeer.address || slots[0].remote_port != kPeer.port || slots[0].mode != "ethernet")
        failf("the status table does not show " + dev + " for " + g.user + " from " + kPeer.address);
    const std::string opened = "Tunnel " + dev + " (ethernet) opened for " + g.user + " from " + kPeer.address +
                               " port " + std::to_string(kPeer.port);
    r.expect_logged(opened);
    if (close_it) {
        r.go();
        r.expect("closed");
        // The child still runs (and would hold a dup, had it got one).
        if (!wait_for(2000ms, [&] { return interface_gone(dev); }))
            failf(dev + " is still there after TunClose");
        if (::kill(r.child, 0) != 0) failf("the child is gone too early: the scenario proves nothing");
        if (!feth::server::status_table_snapshot().empty()) failf("a status slot outlived TunClose");
        r.await_logged("Tunnel " + dev + " (ethernet) closed for " + g.user + " from " + kPeer.address + " port " +
                       std::to_string(kPeer.port) + " (closed by the connection)");
    }
    r.net.reset(); // the child goes (without TunClose in the second case)
    r.expect_monitor_exit(5000ms);
    if (!interface_gone(dev)) failf(dev + " outlived the connection");
    if (!close_it)
        r.expect_logged("Tunnel " + dev + " (ethernet) closed for " + g.user + " from " + kPeer.address +
                        " port " + std::to_string(kPeer.port) + " (connection ended)");
    r.expect_not_logged("the interface is still there");
    return dev;
}

// (b) M5: half a header before authentication: killed within LoginGraceTime.
void child_half_header(ChildCtx& c)
{
    std::uint8_t half[4] = {0, 0, 0, static_cast<std::uint8_t>(MsgType::KeyAllowed)};
    send_raw(c.mon(), half, sizeof half);
    report(c, "sent");
    wait_for_driver(c);
}

void driver_half_header(Run& r)
{
    r.expect("sent");
    r.expect_monitor_exit(std::chrono::seconds(kLoginGrace) + slack(), feth::server::kExitLoginGrace);
    if (r.seconds() > kLoginGrace + std::chrono::duration<double>(slack()).count())
        failf("the monitor took " + std::to_string(r.seconds()) + " s, LoginGraceTime is " +
              std::to_string(kLoginGrace));
    r.expect_logged("no whole message in time (4 of 8 header bytes); killing it");
    r.expect_logged("Timeout before authentication for " + kPeer.address + " port " + std::to_string(kPeer.port));
}

// ... and half a payload after it: killed within the monitor's fixed bound,
// LoginGraceTime no longer applies.
void child_half_payload(ChildCtx& c)
{
    authenticate(c);
    std::uint8_t bytes[12] = {0, 0, 0, static_cast<std::uint8_t>(MsgType::TunOpen), 0, 0, 0, 8, 0, 0, 0, 2};
    send_raw(c.mon(), bytes, sizeof bytes);
    report(c, "sent");
    wait_for_driver(c);
}

void driver_half_payload(Run& r)
{
    r.expect("auth");
    r.expect("sent");
    const auto sent = Clock::now();
    r.expect_monitor_exit(kMessageBound + slack());
    const double took = std::chrono::duration<double>(Clock::now() - sent).count();
    if (took < std::chrono::duration<double>(kMessageBound).count() - 1.5)
        failf("the monitor gave up after " + std::to_string(took) + " s, before its bound");
    r.expect_logged("no whole message in time (4 of 8 payload bytes); killing it");
    r.expect_not_logged("Timeout before authentication");
}

// (c) L8: a descriptor attached to a request. With the kernel's refusal
// turned off (kernels before 6.16 have none), the monitor's reads see
// MSG_CTRUNC: refused, logged, child killed.
void expect_killed_by_sandbox(Run& r, const std::string& word);

void send_with_fd(ChildCtx& c)
{
    Message m(MsgType::KeyAllowed);
    m.put_string(g.user);
    m.put_string(g.key_blob);
    m.add_fd(c.net); // any descriptor: the child's "network socket"
    report(c, "sending");
    try {
        privsep::send_message(c.mon(), m, "monitor");
        report(c, "sendmsg 0");
    } catch (const feth::SystemError& e) {
        report(c, "sendmsg " + std::to_string(e.code()));
    }
    wait_for_driver(c);
}

// N11: the sandbox allows no sendmsg: the child cannot attach a descriptor
// to a request, whether the kernel refuses them on the monitor's socket
// (Linux 6.16+, the default) or not; the monitor's own refusal (its reads
// have no control buffer) stays behind both.
void driver_fd_refused(Run& r)
{
    expect_killed_by_sandbox(r, "sending");
    r.expect_not_logged("sent a descriptor or credentials");
}

// (d) TunStats: counters shown, floods and unknown ids refused.
void child_stats_honest(ChildCtx& c)
{
    authenticate(c);
    auto t = open_tap(c);
    privsep::send_message(c.mon(), tun_stats(t.id, 100), "monitor");
    report(c, "sent");
    std::this_thread::sleep_for(1s); // one a second, as connection.cpp
    privsep::send_message(c.mon(), tun_stats(t.id, 200), "monitor");
    report(c, "sent");
    wait_for_driver(c);
}

bool slot_shows(std::uint64_t base)
{
    auto slots = feth::server::status_table_snapshot();
    if (slots.size() != 1) return false;
    const auto& s = slots[0].stats;
    return s.frames_to_peer == base && s.bytes_to_peer == base + 1 && s.frames_from_peer == base + 2 &&
           s.bytes_from_peer == base + 3 && s.dropped_from_device == base + 4 && s.device_busy == base + 5 &&
           s.dropped_oversize == base + 6;
}

void driver_stats_honest(Run& r)
{
    r.expect("auth");
    r.expect("tunnel");
    for (std::uint64_t base : {100, 200}) {
        r.expect("sent");
        if (!wait_for(2000ms, [&] { return slot_shows(base); }))
            failf("the status slot does not show the counters from " + std::to_string(base));
    }
    r.net.reset();
    r.expect_monitor_exit(5000ms);
    r.expect_not_logged("killing it");
}

void child_stats_flood(ChildCtx& c)
{
    authenticate(c);
    auto t = open_tap(c);
    for (int i = 0; i < 200; ++i) privsep::send_message(c.mon(), tun_stats(t.id, 1), "monitor");
    report(c, "sent");
    wait_for_driver(c);
}

void driver_stats_flood(Run& r)
{
    r.expect("auth");
    r.expect("tunnel");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("sends TunStats faster than 20 a second; killing it");
}

void child_stats_unknown(ChildCtx& c)
{
    authenticate(c);
    privsep::send_message(c.mon(), tun_stats(999, 1), "monitor");
    report(c, "sent");
    wait_for_driver(c);
}

void driver_stats_unknown(Run& r)
{
    r.expect("auth");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("reports counters of tunnel 999, which it does not have; killing it");
}

void child_stats_preauth(ChildCtx& c)
{
    privsep::send_message(c.mon(), tun_stats(1, 1), "monitor");
    report(c, "sent");
    wait_for_driver(c);
}

void driver_stats_preauth(Run& r)
{
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("request 9 (TunStats) is not valid before authentication; killing it");
}

// (e) M2: the status table is not in the child's address space.
void child_wait(ChildCtx& c)
{
    report(c, "ready");
    wait_for_driver(c);
}

void driver_no_status_map(Run& r)
{
    r.expect("ready");
    // The check must be able to fail: the monitor has the table.
    if (shared_writable_mappings(r.monitor).empty()) failf("the monitor has no shared writable mapping either");
    auto child_maps = shared_writable_mappings(r.child);
    if (!child_maps.empty()) failf("the child has a shared writable mapping: " + child_maps[0]);
    const std::string status = read_file("/proc/" + std::to_string(r.child) + "/status");
    if (status.find("\nUid:\t0\t") != std::string::npos) failf("the child runs as root");
    r.net.reset();
    r.expect_monitor_exit(5000ms, feth::server::kExitNoAuth);
}

// (f) M5: the monitor killed: the child goes at once (PR_SET_PDEATHSIG),
// and with it the last descriptor of its tap.
void child_monitor_killed(ChildCtx& c)
{
    authenticate(c);
    auto t = open_tap(c);
    wait_for_driver(c); // the driver never closes: only death ends this
}

void driver_monitor_killed(Run& r)
{
    r.expect("auth");
    std::string rest = r.expect("tunnel");
    const std::string dev = rest.substr(rest.find(' ') + 1);
    ::kill(r.monitor, SIGKILL);
    if (!r.wait_monitor(2000ms)) failf("the SIGKILLed monitor did not end");
    // This program is a subreaper: the orphan is ours to reap.
    int st = 0;
    if (!wait_for(2000ms, [&] { return ::waitpid(r.child, &st, WNOHANG) == r.child; }))
        failf("the child outlived its monitor by 2 s");
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        failf("the child ended with wait status " + std::to_string(st) + ", not SIGKILL (PR_SET_PDEATHSIG)");
    if (!wait_for(2000ms, [&] { return interface_gone(dev); })) failf(dev + " outlived monitor and child");
    // The listener frees a dead monitor's slots when it reaps it.
    if (feth::server::status_table_snapshot().size() != 1) failf("no slot for the dead monitor's tunnel");
    if (feth::server::release_status_slots(r.monitor) != 1) failf("release_status_slots freed nothing");
    r.monitor_status = 0; // checked above; the common checks expect exit 0
    r.monitor_reaped = true;
}

// (g) H1, M4, H2: authentication. The monitor decides it: a key it found
// in authorized_keys, then a signature it verified over its own session id.

std::string forged_signature()
{
    std::string blob;
    auto put = [&blob](const std::string& v) {
        const auto n = static_cast<std::uint32_t>(v.size());
        blob += std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                            static_cast<char>(n)};
        blob += v;
    };
    put("ssh-ed25519");
    put(random_bytes(64));
    return blob;
}

void send_type(const ChildCtx& c, std::uint32_t type, const std::string& user)
{
    Message m;
    m.set_type(type);
    m.put_string(user);
    m.put_string(g.key_blob);
    privsep::send_message(c.mon(), m, "monitor");
}

std::string answer_name(AuthAnswer a)
{
    return std::to_string(static_cast<std::uint32_t>(a));
}

// The review's H1 attack: KeyAllowed, then "I verified it" with no
// signature (the old AuthDone, 3), or straight to TunOpen.
void child_no_signature(ChildCtx& c, std::uint32_t then)
{
    fix_session_id(c, random_bytes(32));
    report(c, "allowed " + answer_name(c.monitor.key_allowed(g.user, g.key_blob)));
    if (then == static_cast<std::uint32_t>(MsgType::TunOpen)) {
        Message m(MsgType::TunOpen);
        m.put_u32(static_cast<std::uint32_t>(feth::TunMode::Ethernet));
        m.put_u32(feth::kTunUnitAny);
        privsep::send_message(c.mon(), m, "monitor");
    } else {
        send_type(c, then, g.user);
    }
    wait_for_driver(c);
}

void driver_no_signature(Run& r, const std::string& refusal)
{
    if (r.expect("allowed") != "1") failf("the monitor did not find the key: the scenario proves nothing");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged(refusal + " is not valid before authentication; killing it");
    r.expect_not_logged("Accepted publickey");
}

// A forged signature: refused, counted and logged as sshd logs it; the
// child stays unauthenticated (its TunOpen kills it).
void child_forged(ChildCtx& c)
{
    fix_session_id(c, random_bytes(32));
    report(c, "answer " + answer_name(verify(c, g.user, forged_signature())));
    child_no_signature(c, static_cast<std::uint32_t>(MsgType::TunOpen));
}

void driver_forged(Run& r)
{
    if (r.expect("answer") != "0") failf("a forged signature was not refused");
    r.expect_logged("Failed publickey for root from " + kPeer.address + " port " + std::to_string(kPeer.port) +
                    " ssh2: ED25519 SHA256:");
    driver_no_signature(r, "request 5 (TunOpen)");
}

// A signature the user really made, but for another connection (replayed)
// or for another user: refused. Then the right one is accepted (so the two
// refusals were for what they say) and the tunnel opens.
void child_replay(ChildCtx& c)
{
    const std::string other_session = random_bytes(32); // as captured elsewhere
    const std::string replayed = user_signature(other_session, g.user);
    const std::string sid = fix_session_id(c, random_bytes(32));
    report(c, "replayed " + answer_name(verify(c, g.user, replayed)));
    report(c, "other-user " + answer_name(verify(c, g.user, user_signature(sid, "daemon"))));
    report(c, "right " + answer_name(verify(c, g.user, user_signature(sid, g.user))));
    open_tap(c);
    wait_for_driver(c);
}

void driver_replay(Run& r)
{
    if (r.expect("replayed") != "0") failf("a signature over another session id was accepted");
    if (r.expect("other-user") != "0") failf("a signature made for another user was accepted");
    if (r.expect("right") != "1") failf("the good signature was refused: the refusals above prove nothing");
    r.expect("tunnel");
    const std::string failed = "Failed publickey for root from " + kPeer.address;
    const std::string log = r.log();
    std::size_t n = 0;
    for (auto at = log.find(failed); at != std::string::npos; at = log.find(failed, at + 1)) ++n;
    if (n != 2) failf(std::to_string(n) + " 'Failed publickey' lines, not 2");
    r.expect_logged("Accepted publickey for root from " + kPeer.address + " port " + std::to_string(kPeer.port) +
                    " ssh2: ED25519 SHA256:");
    r.net.reset();
    r.expect_monitor_exit(5000ms);
}

// DenyUsers: daemon is refused before any signature is looked at ...
void child_denied_user(ChildCtx& c)
{
    const std::string sid = fix_session_id(c, random_bytes(32));
    report(c, "allowed " + answer_name(c.monitor.key_allowed("daemon", g.key_blob)));
    report(c, "verify " + answer_name(verify(c, "daemon", user_signature(sid, "daemon"))));
    wait_for_driver(c);
}

void driver_denied_user(Run& r)
{
    if (r.expect("allowed") != "0") failf("DenyUsers daemon: the key was allowed");
    if (r.expect("verify") != "0") failf("DenyUsers daemon: a good signature authenticated");
    r.expect_logged("User daemon from " + kPeer.address + " not allowed because listed in DenyUsers");
    r.expect_logged("Failed publickey for invalid user daemon from " + kPeer.address);
    r.expect_not_logged("Accepted publickey");
    r.net.reset();
    r.expect_monitor_exit(5000ms, feth::server::kExitAuthFailed);
}

// ... and "daemon\0x", which getpwnam would read as daemon, ends the
// connection; so does a change of user name.
void child_nul_user(ChildCtx& c)
{
    fix_session_id(c, random_bytes(32));
    report(c, "sending");
    send_type(c, static_cast<std::uint32_t>(MsgType::KeyAllowed), std::string("daemon\0x", 8));
    wait_for_driver(c);
}

void driver_nul_user(Run& r)
{
    r.expect("sending");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("contains a NUL byte; killing it");
    r.expect_not_logged("not allowed because"); // never looked up
}

void child_user_change(ChildCtx& c)
{
    const std::string sid = fix_session_id(c, random_bytes(32));
    report(c, "allowed " + answer_name(c.monitor.key_allowed(g.user, g.key_blob)));
    verify(c, "daemon", user_signature(sid, "daemon"));
    wait_for_driver(c);
}

void driver_user_change(Run& r)
{
    if (r.expect("allowed") != "1") failf("the monitor did not find the key: the scenario proves nothing");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("Change of username not allowed: root -> daemon; killing it");
}

// MaxAuthTries (3 here): the third failure says "disconnect"; a child that
// asks again is killed.
void child_max_tries(ChildCtx& c)
{
    fix_session_id(c, random_bytes(32));
    for (unsigned i = 0; i < kMaxAuthTries; ++i) report(c, "answer " + answer_name(verify(c, g.user, forged_signature())));
    report(c, "sending");
    verify(c, g.user, forged_signature());
    wait_for_driver(c);
}

void driver_max_tries(Run& r)
{
    for (unsigned i = 1; i <= kMaxAuthTries; ++i)
        if (r.expect("answer") != (i < kMaxAuthTries ? "0" : "2"))
            failf("answer " + std::to_string(i) + " of " + std::to_string(kMaxAuthTries) + " is wrong");
    r.expect("sending");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("Disconnecting authenticating user root " + kPeer.address + " port " + std::to_string(kPeer.port) +
                    ": Too many authentication failures [preauth]");
    r.expect_logged("goes on after too many authentication failures; killing it");
}

// The host key is for exchange hashes of this server's keys only.
void child_sign_abuse(ChildCtx& c, bool long_data)
{
    report(c, "sending");
    Message m(MsgType::HostKeySign);
    m.put_string("ssh-ed25519");
    m.put_string(long_data ? g.host_blob : g.key_blob); // the user's key is not a host key
    m.put_string(random_bytes(long_data ? 60 : 32));
    privsep::send_message(c.mon(), m, "monitor");
    wait_for_driver(c);
}

void driver_sign_abuse(Run& r, const std::string& refusal)
{
    r.expect("sending");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged(refusal + "; killing it");
}

// Before the key exchange there is no session id to verify against.
void child_verify_first(ChildCtx& c)
{
    report(c, "sending");
    verify(c, g.user, forged_signature());
    wait_for_driver(c);
}

// (h) M6: the sandbox (server/sandbox.hpp). run_monitor installs it after
// the drop and before serve_connection, so this child has it as the real
// one does. Whatever it tries outside its job either fails (a probe: EACCES)
// or kills it with SIGSYS, which the monitor logs.

std::string sigsys_line(const Run& r)
{
    return "child " + std::to_string(r.child) + " of " + kPeer.address + " port " + std::to_string(kPeer.port) +
           " ended by signal " + std::to_string(SIGSYS) + " (SIGSYS";
}

// The child said it is about to make a call the filter kills for: it must
// say nothing more, die of SIGSYS, and the monitor must say so.
void expect_killed_by_sandbox(Run& r, const std::string& word)
{
    r.expect(word);
    std::string after;
    try {
        after = r.line(slack());
    } catch (const Failure&) {
        // No line: the socket closed (the child died) or nothing came.
    }
    if (!after.empty()) failf("the call did not kill the child; it said \"" + after + "\"");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged(sigsys_line(r));
}

// The filter is on while it waits: Seccomp 2 (filter mode), one filter, no
// new privileges; the rlimits of the sandbox.
void child_sandbox_wait(ChildCtx& c)
{
    std::string env;
    std::size_t n = 0;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e, ++n) env += std::string(" ") + *e;
    report(c, "ready");
    report(c, "env " + std::to_string(n) + (n == 1 && env.rfind(" TZ=", 0) == 0 ? std::string(" TZ") : env));
    wait_for_driver(c);
}

void driver_sandbox_status(Run& r)
{
    r.expect("ready");
    const std::string status = read_file("/proc/" + std::to_string(r.child) + "/status");
    for (const char* want : {"\nSeccomp:\t2\n", "\nSeccomp_filters:\t1\n", "\nNoNewPrivs:\t1\n"})
        if (status.find(want) == std::string::npos)
            failf(std::string("the child's status lacks \"") + (want + 1) + "\": " + status);
    // The monitor is not sandboxed: the check can tell.
    if (read_file("/proc/" + std::to_string(r.monitor) + "/status").find("\nSeccomp:\t0\n") == std::string::npos)
        failf("the monitor has a seccomp filter too: the check cannot tell them apart");
    const std::string limits = read_file("/proc/" + std::to_string(r.child) + "/limits");
    auto limit_is = [&](const std::string& name, const std::string& value) {
        std::istringstream in(limits);
        for (std::string l; std::getline(in, l);)
            if (l.rfind(name, 0) == 0) {
                std::istringstream f(l.substr(name.size()));
                std::string soft, hard;
                f >> soft >> hard;
                return soft == value && hard == value;
            }
        return false;
    };
    if (!limit_is("Max open files", "64")) failf("the child's RLIMIT_NOFILE is not 64: " + limits);
    if (!limit_is("Max processes", "0")) failf("the child's RLIMIT_NPROC is not 0: " + limits);
    // The monitor's standard error is this test's log file; the child's is
    // a pipe to the monitor (child_log.hpp): no file to grow, RLIMIT_FSIZE 0.
    if (!limit_is("Max file size", "0")) failf("the child's RLIMIT_FSIZE is not 0: " + limits);
    {
        std::error_code ec;
        const auto err = std::filesystem::read_symlink("/proc/" + std::to_string(r.child) + "/fd/2", ec).string();
        if (ec || err.rfind("pipe:", 0) != 0) failf("the child's stderr is not a pipe: " + err);
    }
    // (/proc/PID/environ shows the strings it started with, not environ.)
    const std::string env = r.expect("env");
    if (env != "0" && env != "1 TZ") failf("the child's environment is not empty: " + env);
    r.net.reset();
    r.expect_monitor_exit(5000ms, feth::server::kExitNoAuth);
    r.expect_not_logged("ended by signal");
}

// socket(AF_INET) is refused (EACCES); connect on a socket it has (the
// monitor's, here) to 127.0.0.1:22 kills it. After authentication and with
// a tunnel open, which must still work under the filter.
void child_sandbox_inet(ChildCtx& c)
{
    authenticate(c);
    auto t = open_tap(c);
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    report(c, "socket " + std::to_string(s >= 0 ? 0 : errno));
    report(c, "connecting");
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(22);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::connect(s >= 0 ? s : c.mon(), reinterpret_cast<const sockaddr*>(&to), sizeof to);
    report(c, "connect " + std::to_string(rc == 0 ? 0 : errno));
    wait_for_driver(c);
}

void driver_sandbox_inet(Run& r)
{
    r.expect("auth");
    r.expect("tunnel");
    if (r.expect("socket") != std::to_string(EACCES)) failf("socket(AF_INET) was not refused with EACCES");
    expect_killed_by_sandbox(r, "connecting");
}

// An abstract AF_UNIX socket (two children could meet there and pass
// descriptors): socket() is refused, bind on a socket it has kills it.
void child_sandbox_bind(ChildCtx& c)
{
    const int s = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    report(c, "socket " + std::to_string(s >= 0 ? 0 : errno));
    report(c, "binding");
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const char name[] = "\0feth-hostile-child";
    std::memcpy(a.sun_path, name, sizeof name - 1);
    // (The filter decides on the call, before the kernel looks at the
    // socket: any descriptor it has will do.)
    const int rc = ::bind(s >= 0 ? s : c.net, reinterpret_cast<const sockaddr*>(&a),
                          static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + sizeof name - 1));
    report(c, "bind " + std::to_string(rc == 0 ? 0 : errno));
    wait_for_driver(c);
}

void driver_sandbox_bind(Run& r)
{
    if (r.expect("socket") != std::to_string(EACCES)) failf("socket(AF_UNIX) was not refused with EACCES");
    expect_killed_by_sandbox(r, "binding");
}

// kill of another process with the child's uid: another connection's
// child (a stand-in the driver starts as the same user), or the monitor.
// Without the filter, the first would succeed.
void child_sandbox_kill(ChildCtx& c)
{
    report(c, "ready");
    std::string line;
    char ch = 0;
    while (::read(c.net, &ch, 1) == 1 && ch != '\n') line += ch;
    const pid_t target = line == "monitor" ? ::getppid() : static_cast<pid_t>(std::atoi(line.c_str()));
    report(c, "killing");
    const int rc = ::kill(target, SIGKILL);
    report(c, "kill " + std::to_string(rc == 0 ? 0 : errno));
    wait_for_driver(c);
}

void driver_sandbox_kill(Run& r, bool monitor)
{
    r.expect("ready");
    pid_t sibling = -1;
    if (!monitor) {
        sibling = ::fork();
        if (sibling < 0) failf("fork: " + std::string(std::strerror(errno)));
        if (sibling == 0) {
            // Another connection's child: the same user, nothing else.
            if (::setresgid(g.identity.gid, g.identity.gid, g.identity.gid) != 0 ||
                ::setresuid(g.identity.uid, g.identity.uid, g.identity.uid) != 0)
                ::_exit(1);
            for (;;) ::pause();
        }
    }
    struct KillSibling {
        pid_t pid;
        ~KillSibling()
        {
            if (pid > 0) {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
            }
        }
    } guard{sibling};
    const std::string target = monitor ? "monitor\n" : std::to_string(sibling) + "\n";
    if (::write(r.net.get(), target.data(), target.size()) != static_cast<ssize_t>(target.size()))
        failf("cannot write to the child");
    expect_killed_by_sandbox(r, "killing");
    if (!monitor && ::waitpid(sibling, nullptr, WNOHANG) != 0) failf("the other connection's child is gone");
}

// open("/etc/passwd") finds nothing in the chroot; through a descriptor
// that leaked in (a directory descriptor of /etc the driver left open for
// it), openat would: both are refused.
void child_sandbox_open(ChildCtx& c)
{
    report(c, "leaked " + std::to_string(g.leaked_dir));
    wait_for_go(c);
    int fd = ::open("/etc/passwd", O_RDONLY);
    report(c, "open " + std::to_string(fd >= 0 ? 0 : errno));
    fd = ::openat(g.leaked_dir, "passwd", O_RDONLY);
    report(c, "openat " + std::to_string(fd >= 0 ? 0 : errno));
    wait_for_driver(c);
}

void driver_sandbox_open(Run& r)
{
    const std::string fd = r.expect("leaked");
    // The leak is gone: the monitor closes every descriptor but the
    // network program's four before it starts it (handover.hpp), so the
    // child never holds /etc.
    std::error_code ec;
    const auto target = std::filesystem::read_symlink("/proc/" + std::to_string(r.child) + "/fd/" + fd, ec);
    if (!ec && target == "/etc") failf("the child holds the leaked /etc descriptor " + fd);
    r.go();
    if (r.expect("open") != std::to_string(EACCES)) failf("open(\"/etc/passwd\") was not refused with EACCES");
    if (r.expect("openat") != std::to_string(EACCES))
        failf("openat(leaked /etc, \"passwd\") was not refused with EACCES");
    r.net.reset();
    r.expect_monitor_exit(5000ms, feth::server::kExitNoAuth);
}

// M6: the child logs through the monitor (its stderr is the monitor's
// pipe, whatever the monitor's stderr is: here a regular file, this test's
// log); its stdout is the client's socket, as sshd-auth's; and a file that
// leaked into the monitor does not reach it (closed before it starts): its
// write fails, the file stays empty. RLIMIT_FSIZE 0 stays as the second
// line (sandbox_status checks it).
void child_sandbox_fsize(ChildCtx& c)
{
    LOG_INFO("hostile child: a log line through the monitor");
    // Raw bytes, past the child's own log code: the monitor escapes them.
    std::fprintf(stderr, "hostile child: a line through the monitor \x1b[2J\r\n");
    std::fprintf(stdout, "stdout is the client's socket\n");
    std::fflush(stdout);
    report(c, "logged");
    wait_for_go(c);
    const char data[] = "what the child must not write\n";
    ssize_t n = ::write(g.leaked_file, data, sizeof data - 1);
    report(c, "wrote " + std::to_string(n < 0 ? -errno : n));
    wait_for_driver(c);
}

void driver_sandbox_fsize(Run& r)
{
    r.expect("stdout");
    r.expect("logged");
    r.await_logged("hostile child: a log line through the monitor");
    r.await_logged("hostile child: a line through the monitor \\x1b[2J\\x0d");
    r.go();
    if (r.expect("wrote") != std::to_string(-EBADF))
        failf("the write to the leaked file did not fail with EBADF: the descriptor reached the child");
    r.net.reset();
    r.expect_monitor_exit(slack(), feth::server::kExitNoAuth);
    struct stat st {};
    if (::stat(g.leaked_file_path.c_str(), &st) != 0 || st.st_size != 0)
        failf("the leaked file is not empty: the child wrote to it");
}

// M6: a child that floods its stderr: the monitor copies a bounded part
// (child_log.hpp: 256 KiB at once, 64 KiB a second), says how much it
// dropped, and keeps serving it.
constexpr std::size_t kFloodBytes = 4 * 1024 * 1024;

void child_log_flood(ChildCtx& c)
{
    const std::string line(1023, 'f');
    for (std::size_t sent = 0; sent < kFloodBytes; sent += 1024) std::fprintf(stderr, "%s\n", line.c_str());
    std::fprintf(stderr, "%s\n", std::string(64 * 1024, 'L').c_str()); // one line past the line bound
    report(c, "flooded");
    wait_for_go(c);
    authenticate(c); // the monitor still answers
    wait_for_driver(c);
}

void driver_log_flood(Run& r)
{
    r.expect("flooded", slack() * 4);
    r.go();
    r.expect("auth");
    r.net.reset();
    r.expect_monitor_exit(slack(), feth::server::kExitAuthenticated);
    r.expect_logged("lines (");
    r.expect_logged("bytes) of its log");
    struct stat st {};
    if (::stat(r.log_path.c_str(), &st) != 0) failf("no log file");
    // The burst plus what the bucket refilled while the flood lasted
    // (seconds at most), far below what the child wrote.
    if (static_cast<std::size_t>(st.st_size) > kFloodBytes / 2)
        failf("the monitor copied " + std::to_string(st.st_size) + " of the child's " + std::to_string(kFloodBytes) +
              " bytes to its log");
}

// Processes whose parent is `parent` (from /proc/PID/stat).
std::vector<pid_t> children_of(pid_t parent)
{
    std::vector<pid_t> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        const std::string stat = read_file(e.path().string() + "/stat");
        const auto close = stat.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream f(stat.substr(close + 1));
        std::string state;
        long ppid = 0;
        f >> state >> ppid;
        if (ppid == parent) out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

// L5: TunnelUpCommand runs asynchronously: while it runs (a 30 s sleep) the
// monitor answers the child (a re-key's HostKeySign) at once; the child
// has the tunnel's id but no device yet. The child then goes: the monitor
// stops the hook's process group, removes the device, and exits.
void child_hook_pending(ChildCtx& c)
{
    authenticate(c);
    auto t = c.monitor.open_tunnel(static_cast<std::uint32_t>(feth::TunMode::Ethernet), feth::kTunUnitAny);
    if (!t.ok) failf("TunOpen refused: " + t.reason);
    report(c, "pending " + std::to_string(t.id) + (t.device ? " with a device" : ""));
    (void)fix_session_id(c, random_bytes(32)); // answered while the hook runs
    report(c, std::string("signed") + (c.monitor.take_tun_up() ? " and a TunUp came" : ""));
    wait_for_driver(c);
}

void driver_hook_pending(Run& r)
{
    r.expect("auth");
    if (const std::string p = r.expect("pending"); p != "1") failf("the child got \"" + p + "\" from TunOpenAnswer");
    // Well before the hook's 30 s.
    if (const std::string s = r.expect("signed", slack()); !s.empty())
        failf("while the up hook runs: signed " + s);
    std::vector<pid_t> hooks;
    if (!wait_for(slack(), [&] {
            hooks = children_of(r.monitor);
            std::erase(hooks, r.child);
            return !hooks.empty();
        }))
        failf("no TunnelUpCommand process under the monitor");
    const auto ifs = interfaces();
    if (ifs.size() != 1) failf("expected the tunnel's one interface while its hook runs");
    r.expect_not_logged("opened for");
    r.net.reset(); // the child goes with its tunnel pending
    r.expect_monitor_exit(slack());
    for (pid_t h : hooks)
        if (::kill(h, 0) == 0) failf("the up hook " + std::to_string(h) + " is still running");
    r.expect_logged("TunnelUpCommand for " + ifs[0] + " stopped: connection ended");
    r.expect_logged("Tunnel " + ifs[0] + " (ethernet) closed");
}

// L5: an up hook that fails: the tunnel is refused through TunUp (after
// TunOpenAnswer gave an id), the device is gone, the failure logged.
void child_hook_fails(ChildCtx& c)
{
    authenticate(c);
    auto t = c.monitor.open_tunnel_and_wait(static_cast<std::uint32_t>(feth::TunMode::Ethernet), feth::kTunUnitAny);
    report(c, std::string("up ") + (t.ok ? "ok" : t.debug_line + "|" + t.reason) + (t.device ? " with a device" : ""));
    wait_for_driver(c);
}

void driver_hook_fails(Run& r)
{
    r.expect("auth");
    const std::string up = r.expect("up", slack());
    if (up.rfind("Failed to open the tunnel device.|TunnelUpCommand failed for ", 0) != 0 ||
        up.find("with a device") != std::string::npos)
        failf("a failing up hook: " + up);
    r.await_logged("exited with status 3");
    r.expect_not_logged("opened for");
    if (!interfaces().empty()) failf("an interface is left after its up hook failed");
    r.net.reset();
    r.expect_monitor_exit(slack());
}

// TunUp is the monitor's message: from the child it is a protocol violation.
void child_tun_up(ChildCtx& c)
{
    authenticate(c);
    Message m(MsgType::TunUp);
    m.put_u32(1);
    m.put_u32(1);
    privsep::send_message(c.mon(), m, "hostile child");
    report(c, "sent");
    wait_for_driver(c);
}

void driver_tun_up(Run& r)
{
    r.expect("auth");
    r.expect("sent");
    r.expect_monitor_exit(slack(), feth::server::kExitChildCrash);
    r.expect_logged("request 15 (TunUp) is not valid after authentication");
}

// L5, N13: a child that cycles open/close (creating and removing root-made
// interfaces, and spawning root hooks where there are any): 30 tunnels a
// minute, hooks or not, then refused with a log line (nothing opened).
constexpr unsigned kHookedOpensPerMinute = 30;

void child_hook_cycle(ChildCtx& c)
{
    authenticate(c);
    for (unsigned i = 0; i < kHookedOpensPerMinute; ++i) {
        auto t = c.monitor.open_tunnel_and_wait(static_cast<std::uint32_t>(feth::TunMode::Ethernet), feth::kTunUnitAny);
        if (!t.ok) failf("tunnel " + std::to_string(i + 1) + " refused: " + t.reason);
        t.device.reset();
        c.monitor.close_tunnel(t.id);
    }
    auto over = c.monitor.open_tunnel_and_wait(static_cast<std::uint32_t>(feth::TunMode::Ethernet), feth::kTunUnitAny);
    report(c, std::string("over ") + (over.ok ? "opened" : over.debug_line));
    wait_for_driver(c);
}

void driver_hook_cycle(Run& r)
{
    r.expect("auth");
    const std::string over = r.expect("over", 20000ms);
    if (over != "Failed to open the tunnel device.") failf("tunnel " + std::to_string(kHookedOpensPerMinute + 1) +
                                                          " past the open rate limit: " + over);
    r.await_logged("30 tunnels opened in the last minute on this connection (limit 30)");
    if (!interfaces().empty()) failf("an interface is there although the open was refused");
    r.net.reset();
    r.expect_monitor_exit(5000ms);
}

// Ten tunnels, the most one connection may have, each received through
// SCM_RIGHTS under the filter and within RLIMIT_NOFILE; its highest
// descriptor is well below the limit (sandbox.hpp kChildMaxDescriptors).
void child_sandbox_ten_tunnels(ChildCtx& c)
{
    authenticate(c);
    std::vector<MonitorClient::Tunnel> tunnels;
    for (int i = 0; i < 10; ++i) tunnels.push_back(open_tap(c));
    int highest = -1;
    for (int fd = 0; fd < 1024; ++fd)
        if (::fcntl(fd, F_GETFD) >= 0) highest = fd;
    report(c, "highest " + std::to_string(highest));
    wait_for_driver(c);
}

void driver_sandbox_ten_tunnels(Run& r)
{
    r.expect("auth");
    for (int i = 0; i < 10; ++i) r.expect("tunnel");
    const int highest = std::stoi(r.expect("highest"));
    std::size_t open = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(r.child) + "/fd")) {
        (void)e;
        ++open;
    }
    std::printf("  (10 tunnels: %zu descriptors open in the child, highest %d, RLIMIT_NOFILE 64)\n", open, highest);
    if (highest < 0 || highest >= 48) failf("the child's highest descriptor with 10 tunnels is " +
                                            std::to_string(highest) + ": too close to RLIMIT_NOFILE 64");
    r.net.reset();
    r.expect_monitor_exit(5000ms);
    r.expect_not_logged("ended by signal");
}

// ---- the table ----------------------------------------------------------------

// N3: ioctl only with the requests the child makes. On its tap and its
// stdin (the client's socket): the terminal and device-changing requests
// are refused (EPERM), a terminal probe says "not a terminal", TUNGETIFF
// works, and a request outside the list kills it.
void child_sandbox_ioctl(ChildCtx& c)
{
    authenticate(c);
    auto t = open_tap(c);
    const int fd = t.device->read_fd();
    auto errno_of = [](int rc) { return std::to_string(rc == 0 ? 0 : errno); };
    char x = 'x';
    report(c, "tiocsti " + errno_of(::ioctl(0, TIOCSTI, &x)));
    report(c, "persist " + errno_of(::ioctl(fd, TUNSETPERSIST, 1)));
    report(c, "owner " + std::to_string(::ioctl(fd, TUNSETOWNER, static_cast<unsigned long>(g.nobody)) == 0 ? 0 : errno));
    report(c, "link " + errno_of(::ioctl(fd, TUNSETLINK, 1UL)));
    ifreq ifr{};
    ifr.ifr_hwaddr.sa_family = 1; // ARPHRD_ETHER
    report(c, "hwaddr " + errno_of(::ioctl(fd, SIOCSIFHWADDR, &ifr)));
    report(c, "ifconf " + errno_of(::ioctl(fd, SIOCGIFCONF, &ifr)));
    termios tio{};
    report(c, "tcgets " + errno_of(::ioctl(0, TCGETS, &tio)));
    ifreq got{};
    report(c, "getiff " + errno_of(::ioctl(fd, TUNGETIFF, &got)));
    report(c, "sndbuf");
    int big = 1 << 20;
    report(c, "after " + errno_of(::ioctl(fd, TUNSETSNDBUF, &big)));
    wait_for_driver(c);
}

void driver_sandbox_ioctl(Run& r)
{
    r.expect("auth");
    r.expect("tunnel");
    for (const char* word : {"tiocsti", "persist", "owner", "link", "hwaddr", "ifconf"})
        if (r.expect(word) != std::to_string(EPERM)) failf(std::string(word) + ": not refused with EPERM");
    if (r.expect("tcgets") != std::to_string(ENOTTY)) failf("TCGETS was not answered ENOTTY");
    if (r.expect("getiff") != "0") failf("TUNGETIFF, which adopting a tap needs, was refused");
    expect_killed_by_sandbox(r, "sndbuf");
}

// N5: the child cannot write a log record of its own. It has no syslog
// socket (none among its descriptors; it can make none), and what it
// writes to its log pipe, a look-alike of the monitor's audit line
// included, reaches the log marked as the child's ([preauth]).
void child_log_forgery(ChildCtx& c)
{
    int datagram_unix = 0;
    for (int fd = 0; fd < 64; ++fd) {
        int type = 0, domain = 0;
        socklen_t len = sizeof type;
        if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) continue;
        len = sizeof domain;
        if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) continue;
        if (domain == AF_UNIX && type == SOCK_DGRAM) ++datagram_unix;
    }
    report(c, "syslog " + std::to_string(datagram_unix));
    const int s = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    report(c, "socket " + std::to_string(s >= 0 ? 0 : errno));
    std::fprintf(stderr, "Accepted publickey for root from 198.18.0.2 port 4242 ssh2: ED25519 SHA256:forged\n");
    std::fflush(stderr);
    report(c, "forged");
    wait_for_driver(c);
}

void driver_log_forgery(Run& r)
{
    if (r.expect("syslog") != "0") failf("the child holds a unix datagram socket (syslog's?)");
    if (r.expect("socket") != std::to_string(EACCES)) failf("socket(AF_UNIX, SOCK_DGRAM) was not refused");
    r.expect("forged");
    const std::string forged = "Accepted publickey for root from 198.18.0.2 port 4242 ssh2: ED25519 SHA256:forged";
    r.await_logged(forged + " [preauth]");
    std::istringstream lines(r.log());
    for (std::string line; std::getline(lines, line);)
        if (line.size() >= forged.size() && line.compare(line.size() - forged.size(), forged.size(), forged) == 0)
            failf("the forged line reached the log unmarked: " + line);
    r.net.reset();
    r.expect_monitor_exit(slack(), feth::server::kExitNoAuth);
}

// N11: socket options and futex operations beyond those the child uses
// kill it: TCP_ULP (kTLS) on its socket, FUTEX_LOCK_PI.
void child_sandbox_tcp_ulp(ChildCtx& c)
{
    report(c, "setsockopt");
    const char ulp[] = "tls";
    const int rc = ::setsockopt(0, IPPROTO_TCP, TCP_ULP, ulp, sizeof ulp);
    report(c, "after " + std::to_string(rc == 0 ? 0 : errno));
    wait_for_driver(c);
}

void child_sandbox_futex_pi(ChildCtx& c)
{
    report(c, "futex");
    static std::uint32_t word = 0;
    const long rc = ::syscall(SYS_futex, &word, FUTEX_LOCK_PI_PRIVATE, 0, nullptr, nullptr, 0);
    report(c, "after " + std::to_string(rc == 0 ? 0 : errno));
    wait_for_driver(c);
}

struct Scenario {
    const char* name;
    const char* what;
    void (*child)(ChildCtx&);
    void (*driver)(Run&);
    bool kernel_refuses_descriptors = true; // set_monitor_kernel_descriptor_refusal
    bool monitor_killed = false;            // the monitor's exit is the driver's business
    bool leak_etc = false;                  // a descriptor of /etc leaks into monitor and child
    bool leak_file = false;                 // a regular file open for writing leaks into both
    const char* up_command = nullptr;       // TunnelUpCommand for this scenario
};

// More cases go here: one child function (what the hostile child sends),
// one driver function (what must happen), one line.
const Scenario kScenarios[] = {
    {"tap_close_kept", "M1: persistent, re-owned, dup'ed tap; TunClose: the tap goes while the child holds the dup",
     [](ChildCtx& c) { child_keep_alive(c, true); }, [](Run& r) { driver_keep_alive(r, true); }},
    {"tap_exit_kept", "M1: persistent, re-owned, dup'ed tap; the child just exits: the tap goes",
     [](ChildCtx& c) { child_keep_alive(c, false); }, [](Run& r) { driver_keep_alive(r, false); }},
    {"half_header_preauth", "M5: 4 of 8 header bytes before authentication: killed within LoginGraceTime",
     child_half_header, driver_half_header},
    {"half_payload_postauth", "M5: a header promising 8 bytes, then 4, after authentication: killed within 10 s",
     child_half_payload, driver_half_payload},
    {"fd_to_monitor", "L8/N11: a descriptor attached to a request (kernel refusal off): sendmsg kills the child",
     send_with_fd, driver_fd_refused, false},
    {"fd_to_monitor_kernel", "L8/N11: a descriptor attached to a request (SO_PASSRIGHTS off): sendmsg kills the child",
     send_with_fd, driver_fd_refused},
    {"stats_honest", "M2: TunStats once a second: the monitor's slot shows them", child_stats_honest,
     driver_stats_honest},
    {"stats_flood", "M2: 200 TunStats at once: refused, killed", child_stats_flood, driver_stats_flood},
    {"stats_unknown_id", "M2: TunStats for a tunnel it does not have: refused, killed", child_stats_unknown,
     driver_stats_unknown},
    {"stats_preauth", "M2: TunStats before authentication: refused, killed", child_stats_preauth,
     driver_stats_preauth},
    {"no_status_map", "M2: the child has no shared writable mapping; the monitor has the table", child_wait,
     driver_no_status_map},
    {"monitor_killed", "M5: SIGKILL to the monitor: the child dies (PDEATHSIG), its tap goes",
     child_monitor_killed, driver_monitor_killed, true, true},
    {"authdone_no_signature", "H1: KeyAllowed, then the old AuthDone with no signature: refused, killed",
     [](ChildCtx& c) { child_no_signature(c, 3); },
     [](Run& r) { driver_no_signature(r, "request 3 (unknown)"); }},
    {"tunopen_no_signature", "H1: KeyAllowed, then TunOpen with no signature: refused, killed",
     [](ChildCtx& c) { child_no_signature(c, static_cast<std::uint32_t>(MsgType::TunOpen)); },
     [](Run& r) { driver_no_signature(r, "request 5 (TunOpen)"); }},
    {"forged_signature", "H1/M4: a forged signature: refused, logged as sshd does; still not authenticated",
     child_forged, driver_forged},
    {"replayed_signature", "H1: the user's signature over another session id, or for another user: refused; "
                           "the right one opens a tunnel",
     child_replay, driver_replay},
    {"denied_user", "H2: DenyUsers daemon: refused before any signature, even a good one", child_denied_user,
     driver_denied_user},
    {"nul_user", "H2: \"daemon\\0x\" against DenyUsers daemon: a protocol violation, killed", child_nul_user,
     driver_nul_user},
    {"user_change", "H2: the user is fixed by the first request: root, then daemon: killed", child_user_change,
     driver_user_change},
    {"max_auth_tries", "M4: 3 forged signatures with MaxAuthTries 3: disconnect; a fourth: killed", child_max_tries,
     driver_max_tries},
    {"sign_long_data", "H1: HostKeySign of 60 bytes (not an exchange hash): killed",
     [](ChildCtx& c) { child_sign_abuse(c, true); },
     [](Run& r) { driver_sign_abuse(r, "asks to sign 60 bytes, not an exchange hash"); }},
    {"sign_other_key", "H1: HostKeySign with a key that is not a host key: killed",
     [](ChildCtx& c) { child_sign_abuse(c, false); },
     [](Run& r) { driver_sign_abuse(r, "asks to sign with a host key this server does not have"); }},
    {"verify_before_kex", "H1: PubkeyVerify before any exchange hash was signed: killed", child_verify_first,
     [](Run& r) { driver_sign_abuse(r, "asks to verify a signature before the key exchange"); }},
    {"sandbox_status", "M6: the waiting child has its seccomp filter (Seccomp 2), rlimits, no environment",
     child_sandbox_wait, driver_sandbox_status},
    {"sandbox_inet", "M6: socket(AF_INET) refused, connect to 127.0.0.1 kills it (SIGSYS), with a tunnel open",
     child_sandbox_inet, driver_sandbox_inet},
    {"sandbox_bind", "M6: socket(AF_UNIX) refused, bind to an abstract address kills it (SIGSYS)",
     child_sandbox_bind, driver_sandbox_bind},
    {"sandbox_kill_sibling", "M6: kill of another connection's child (same uid) kills it instead (SIGSYS)",
     child_sandbox_kill, [](Run& r) { driver_sandbox_kill(r, false); }},
    {"sandbox_kill_monitor", "M6: kill of its monitor kills it instead (SIGSYS)", child_sandbox_kill,
     [](Run& r) { driver_sandbox_kill(r, true); }},
    {"sandbox_ioctl", "N3: TIOCSTI, TUNSETPERSIST, TUNSETOWNER, TUNSETLINK, SIOCSIFHWADDR, SIOCGIFCONF refused, "
                      "TCGETS ENOTTY, TUNGETIFF allowed, TUNSETSNDBUF kills it (SIGSYS)",
     child_sandbox_ioctl, driver_sandbox_ioctl},
    {"log_forgery", "N5: no syslog socket in the child; its look-alike \"Accepted publickey\" line is logged "
                    "marked [preauth]",
     child_log_forgery, driver_log_forgery},
    {"sandbox_tcp_ulp", "N11: setsockopt(TCP_ULP) kills it (SIGSYS)", child_sandbox_tcp_ulp,
     [](Run& r) { expect_killed_by_sandbox(r, "setsockopt"); }},
    {"sandbox_futex_pi", "N11: futex(FUTEX_LOCK_PI) kills it (SIGSYS)", child_sandbox_futex_pi,
     [](Run& r) { expect_killed_by_sandbox(r, "futex"); }},
    {"sandbox_ten_tunnels", "M6: 10 taps on one connection under the filter and RLIMIT_NOFILE 64",
     child_sandbox_ten_tunnels, driver_sandbox_ten_tunnels},
    {"sandbox_open_leak", "M6: a leaked /etc descriptor does not reach the child; open(\"/etc/passwd\") and "
                          "openat(its number, \"passwd\"): EACCES",
     child_sandbox_open, driver_sandbox_open, true, false, true},
    {"sandbox_fsize", "M6: a file as the monitor's stderr: the child's lines reach the monitor's log; its stdout "
                      "is the client's socket; a leaked file does not reach it (EBADF), the file stays empty",
     child_sandbox_fsize, driver_sandbox_fsize, true, false, false, true},
    {"log_flood", "M6: 4 MiB on the child's stderr: a bounded part logged, the rest counted; the monitor still "
                  "answers",
     child_log_flood, driver_log_flood},
    {"hook_rate", "L5, N13: 30 open/close cycles (no hooks configured), then the 31st: refused, logged, nothing "
                  "opened",
     child_hook_cycle, driver_hook_cycle},
    {"hook_pending", "L5: while a 30 s TunnelUpCommand runs the monitor answers at once; the child goes: hook "
                     "stopped, device removed",
     child_hook_pending, driver_hook_pending, true, false, false, false, "exec sleep 30"},
    {"hook_fails", "L5: TunnelUpCommand exits 3: TunUp refused (no descriptor), no interface, logged",
     child_hook_fails, driver_hook_fails, true, false, false, false, "exit 3"},
    {"tun_up_from_child", "TunUp sent by the child: a protocol violation, killed", child_tun_up, driver_tun_up},
};

// ---- running one --------------------------------------------------------------

void cleanup(Run& r)
{
    r.net.reset();
    if (!r.monitor_reaped && r.monitor > 0) {
        ::kill(r.monitor, SIGKILL);
        ::waitpid(r.monitor, nullptr, 0);
        r.monitor_reaped = true;
    }
    // An orphaned child is ours (subreaper): only that pid, and only if it
    // is our child now.
    if (r.child > 0 && ::waitpid(r.child, nullptr, WNOHANG) == 0) {
        ::kill(r.child, SIGKILL);
        ::waitpid(r.child, nullptr, 0);
    }
    // A clean slate for the next scenario.
    for (const auto& name : interfaces())
        (void)feth::backends::rtnl::delete_link(static_cast<int>(::if_nametoindex(name.c_str())));
    if (r.monitor > 0) feth::server::release_status_slots(r.monitor);
}

// What every scenario must leave behind.
void common_checks(Run& r)
{
    if (!r.monitor_reaped) r.expect_monitor_exit(slack());
    // The monitor reaps its child before it exits; an orphan would be ours.
    int st = 0;
    pid_t w = ::waitpid(r.child, &st, WNOHANG);
    if (w == 0) failf("the child " + std::to_string(r.child) + " is still running");
    if (w == r.child && !g.scenario->monitor_killed) failf("the monitor exited without reaping its child");
    if (::kill(r.child, 0) == 0) failf("the child " + std::to_string(r.child) + " still exists");
    if (auto left = interfaces(); !left.empty()) failf("interface left behind: " + left[0]);
    if (auto slots = feth::server::status_table_snapshot(); !slots.empty())
        failf("status slot left behind: " + slots[0].interface);
}

bool run_scenario(const Scenario& s)
{
    g.scenario = &s;
    g.cfg.tunnel_up_command = s.up_command != nullptr ? s.up_command : "";
    Run r;
    r.name = s.name;
    r.log_path = g.dir + "/" + s.name + ".log";
    std::printf("--- %s: %s\n", s.name, s.what);
    std::fflush(stdout);
    try {
        UniqueFd net_child;
        if (feth::open_socketpair(AF_UNIX, SOCK_STREAM, feth::IoMode::blocking, r.net, net_child) != 0)
            feth::throw_errno("net socketpair", "socketpair");
        int sp[2];
        if (::pipe2(sp, O_CLOEXEC) != 0) feth::throw_errno("startup pipe", "pipe2");
        r.startup.reset(sp[0]);
        UniqueFd startup_write(sp[1]);
        UniqueFd log_fd(::open(r.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
        if (!log_fd) feth::throw_errno(r.log_path, "open");
        feth::server::set_monitor_kernel_descriptor_refusal(s.kernel_refuses_descriptors);
        // Deliberately without O_CLOEXEC: what a leak is.
        UniqueFd leaked;
        if (s.leak_etc) {
            leaked.reset(::open("/etc", O_RDONLY | O_DIRECTORY));
            if (!leaked) feth::throw_errno("/etc", "open");
        }
        g.leaked_dir = leaked.get();
        UniqueFd leaked_file;
        if (s.leak_file) {
            g.leaked_file_path = g.dir + "/" + s.name + ".leaked";
            leaked_file.reset(::open(g.leaked_file_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666));
            if (!leaked_file) feth::throw_errno(g.leaked_file_path, "open");
        }
        g.leaked_file = leaked_file.get();
        std::fflush(nullptr);
        r.started = Clock::now();
        r.monitor = ::fork();
        if (r.monitor < 0) feth::throw_errno("monitor", "fork");
        if (r.monitor == 0) {
            // The monitor process, as the listener's child_main makes it.
            ::dup2(log_fd.get(), STDERR_FILENO);
            r.net.reset();
            r.startup.reset();
            log_fd.reset();
            // No exec: the child runs network_child_main, then OUR
            // serve_connection, in the forked image (with the same
            // descriptors, setup, drop and sandbox as feth-sshd-net).
            const feth::server::NetworkLaunch launch{g.source, ""};
            int status = feth::server::run_monitor(g.cfg, g.host_keys, std::move(net_child), kPeer, g.identity,
                                                   std::move(startup_write), launch);
            std::fflush(nullptr);
            ::_exit(status);
        }
        net_child.reset();
        startup_write.reset();
        leaked.reset();
        leaked_file.reset();
        r.child = std::stoi(r.expect("pid"));
        s.driver(r);
        common_checks(r);
        std::printf("PASS %s (%.1f s)\n", s.name, r.seconds());
        cleanup(r);
        return true;
    } catch (const std::exception& e) {
        std::printf("FAIL %s: %s\n----- monitor and child log -----\n%s-----\n", s.name, e.what(), r.log().c_str());
        cleanup(r);
        return false;
    }
}

[[noreturn]] void skip(const std::string& why)
{
    std::printf("SKIP: %s\n", why.c_str());
    std::exit(77);
}

void setup()
{
    // Not under /tmp: StrictModes refuses authorized_keys below a
    // directory others can write (sshd makes no exception for sticky ones).
    char tmpl[] = "/run/feth-hostile-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) feth::throw_errno("temporary directory", "mkdtemp");
    g.dir = tmpl;

    ssh_key raw = nullptr;
    if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &raw) != SSH_OK)
        throw std::runtime_error("ssh_pki_generate_key failed");
    g.user_key.reset(raw);
    char* b64 = nullptr;
    if (ssh_pki_export_pubkey_base64(g.user_key.get(), &b64) != SSH_OK)
        throw std::runtime_error("cannot export the key");
    g.key_line = std::string("ssh-ed25519 ") + b64;
    ssh_string_free_char(b64);
    g.key_blob = feth::server::public_key_blob(g.user_key.get());
    const std::string keys = g.dir + "/authorized_keys";
    {
        std::ofstream out(keys);
        out << g.key_line << " hostile-child-test\n";
    }
    ::chmod(keys.c_str(), 0600);

    // The host key, loaded the way feth-sshd loads it.
    raw = nullptr;
    if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &raw) != SSH_OK)
        throw std::runtime_error("ssh_pki_generate_key failed");
    feth::KeyPtr host(raw);
    const std::string host_path = g.dir + "/host_ed25519";
    if (ssh_pki_export_privkey_file(host.get(), nullptr, nullptr, nullptr, host_path.c_str()) != SSH_OK)
        throw std::runtime_error("cannot write " + host_path);
    ::chmod(host_path.c_str(), 0600); // feth-sshd refuses a host key others can read
    g.host_keys = feth::server::HostKeys::load({host_path});
    raw = nullptr;
    if (ssh_pki_export_privkey_to_pubkey(host.get(), &raw) != SSH_OK) throw std::runtime_error("no public host key");
    g.host_pub.reset(raw);
    g.host_blob = feth::server::public_key_blob(g.host_pub.get());

    if (struct passwd* pw = ::getpwnam("nobody")) g.nobody = pw->pw_uid;

    g.source.options = {
        "AuthorizedKeysFile=" + keys,
        "PermitTunnel=ethernet",
        "LoginGraceTime=" + std::to_string(kLoginGrace),
        // daemon may log in with the same key file but for DenyUsers: what a
        // user name with a NUL byte behind "daemon" must not get past.
        "DenyUsers=daemon",
        "MaxAuthTries=" + std::to_string(kMaxAuthTries),
    };
    g.cfg = feth::server::parse_config(g.source);
    g.identity = feth::server::prepare_privsep(g.cfg);
    if (!g.identity.enabled) throw std::runtime_error("privilege separation is off although we are root");
    feth::server::create_status_table();
}

} // namespace

// The child's whole life: what the scenario says, then exit.
int feth::server::serve_connection(const config::ServerConfig&, ssh_bind, int fd, const Peer&, MonitorClient& monitor)
{
    ChildCtx c{fd, monitor};
    try {
        report(c, "pid " + std::to_string(::getpid()));
        g.scenario->child(c);
        return 0;
    } catch (const std::exception& e) {
        report(c, std::string("error ") + e.what());
        return 1;
    }
}

int main(int argc, char** argv)
{
    // As feth-sshd's main: nothing this program inherited reaches a child.
    feth::server::close_inherited_descriptors();
    if (::geteuid() != 0) skip("needs root (network devices, chroot, setuid)");
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) skip("no /dev/net/tun");
    // Our taps live and die in a namespace of our own.
    if (::unshare(CLONE_NEWNET) != 0) skip(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
    // Orphans (a child whose monitor died) are reparented to us, to be
    // checked and reaped.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        std::perror("prctl(PR_SET_CHILD_SUBREAPER)");
        return 1;
    }
    feth::log::configure({feth::log::Level::Verbose, true, "hostile_child"});
    std::vector<const Scenario*> chosen;
    for (int i = 1; i < argc; ++i) {
        const Scenario* found = nullptr;
        for (const auto& s : kScenarios)
            if (std::strcmp(s.name, argv[i]) == 0) found = &s;
        if (found == nullptr) {
            std::fprintf(stderr, "unknown scenario %s; known:", argv[i]);
            for (const auto& s : kScenarios) std::fprintf(stderr, " %s", s.name);
            std::fprintf(stderr, "\n");
            return 2;
        }
        chosen.push_back(found);
    }
    if (chosen.empty())
        for (const auto& s : kScenarios) chosen.push_back(&s);

    int failed = 0;
    try {
        setup();
        for (const Scenario* s : chosen)
            if (!run_scenario(*s)) ++failed;
    } catch (const std::exception& e) {
        std::printf("FAIL setup: %s\n", e.what());
        ++failed;
    }
    if (!g.dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(g.dir, ec);
    }
    std::printf("%zu scenarios, %d failed\n", chosen.size(), failed);
    return failed == 0 ? 0 : 1;
}

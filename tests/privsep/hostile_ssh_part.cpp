// The hostile SSH part: feth-ssh's real root part (run_root_part, from
// client/privsep.cpp) against a stand-in for its unprivileged SSH part that
// speaks the client's message set (client/privsep.hpp) the way an SSH part
// taken over through libssh could.
//
//   this program (root, in a network namespace of its own: the driver)
//   +-- root part process: run_root_part(), as feth-ssh's main calls it
//       +-- the hostile SSH part: one scenario's script
//
// After each scenario the driver checks the root part's exit status, that
// the SSH part is gone, that no interface but lo is left, and what the
// hooks (which write marker files) did.
//
// Usage: hostile_ssh_part [SCENARIO...]   (none: all). Needs root; exit 77
// (skipped) without it, without /dev/net/tun, or when unshare(CLONE_NEWNET)
// is refused.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "client/privsep.hpp"
#include "config/known_hosts_hash.hpp"
#include "base/framed_messages.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace {

namespace wire = feth::framing;
using feth::UniqueFd;
using namespace std::chrono_literals;

// The client's message numbers (client/privsep.cpp).
constexpr std::uint32_t kOpen = 101, kOpenAnswer = 102, kTunnelUp = 103, kTunnelDown = 104, kHookDone = 106,
                        kDetach = 107, kKnownHostsAdd = 109, kAgentConnect = 111, kAgentAnswer = 112, kAsk = 113,
                        kAskAnswer = 114;
constexpr const char* kKhName = "[server.example]:2222";

std::string g_dir;     // markers the hooks (and scripts) write
int g_root_status = 0; // the last root part's, for the checks

int scale()
{
    const char* s = std::getenv("FETH_E2E_TIME_SCALE");
    int v = s != nullptr ? std::atoi(s) : 1;
    return v > 0 ? v : 1;
}

wire::Message open_msg(const std::string& up = "", const std::string& down = "", const std::string& kh_path = "",
                       const std::string& kh_name = "", const std::string& agent = "",
                       const std::string& host = "server.example", std::uint32_t ip_port = 0,
                       const std::vector<std::string>& identity_files = {})
{
    wire::Message m;
    m.set_type(kOpen);
    m.put_u32(2); // ethernet
    m.put_u32(0x7fffffff);
    m.put_string("tap");
    m.put_u32(0);
    m.put_u32(0x7fffffff);
    m.put_string(up);
    m.put_string(down);
    m.put_u32(5);
    m.put_string("alice");
    m.put_string(host);
    m.put_string(kh_path);
    m.put_string(kh_name);
    m.put_string(agent);
    m.put_u32(ip_port);
    // The root part's agent: identity files, no certificates, no other
    // user than Open's (alice), no agent keys, no AddKeysToAgent, batch
    // mode, no socket for a proxy.
    m.put_u32(static_cast<std::uint32_t>(identity_files.size()));
    for (const auto& f : identity_files) m.put_string(f);
    m.put_u32(0);
    m.put_u32(0);
    m.put_u32(0);
    m.put_string("");
    m.put_u32(0);
    m.put_u32(1);
    m.put_u32(0);
    return m;
}

// A known_hosts line for `host` with a fresh Ed25519 key.
std::string known_hosts_line(const std::string& host)
{
    ssh_key key = nullptr;
    if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &key) != SSH_OK) std::_Exit(96);
    char* b64 = nullptr;
    if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK) std::_Exit(97);
    std::string line = host + " ssh-ed25519 " + b64;
    ssh_string_free_char(b64);
    ssh_key_free(key);
    return line;
}

wire::Message kh_msg(const std::vector<std::string>& lines)
{
    wire::Message m;
    m.set_type(kKnownHostsAdd);
    m.put_u32(static_cast<std::uint32_t>(lines.size()));
    for (const auto& l : lines) m.put_string(l);
    return m;
}

std::size_t lines_in(const std::string& file)
{
    std::ifstream f(file);
    std::size_t n = 0;
    for (std::string l; std::getline(f, l);) ++n;
    return n;
}

wire::Message ask_msg(const std::string& prompt)
{
    wire::Message m;
    m.set_type(kAsk);
    m.put_string(prompt);
    m.put_u32(0);
    return m;
}

wire::Message up_msg(const std::string& address)
{
    wire::Message m;
    m.set_type(kTunnelUp);
    m.put_string(address);
    m.put_u32(22);
    m.put_u32(0);
    return m;
}

void send(int sock, const wire::Message& m) { wire::send_message(sock, m, "root part", nullptr); }

// Receives the device; returns its fds (empty when refused).
std::vector<UniqueFd> open_device(int sock, const wire::Message& m)
{
    send(sock, m);
    wire::Message a;
    if (!wire::recv_message(sock, a, "root part") || a.type() != kOpenAnswer) std::_Exit(90);
    if (a.get_u32() != 1) return {};
    return std::move(a.fds());
}

bool wait_hook_done(int sock)
{
    wire::Message a;
    return wire::recv_message(sock, a, "root part") && a.type() == kHookDone;
}

// ---- the root part's agent (client/root_agent.hpp) ----

void put_u32(std::string& out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_str(std::string& out, const std::string& s)
{
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out += s;
}

std::string blob_of(ssh_key key)
{
    ssh_string raw = nullptr;
    if (ssh_pki_export_pubkey_blob(key, &raw) != SSH_OK) std::_Exit(96);
    std::string b(static_cast<const char*>(ssh_string_data(raw)), ssh_string_len(raw));
    ssh_string_free(raw);
    return b;
}

// The data a client signs to log in (RFC 4252 section 7).
std::string userauth_data(const std::string& session_id, const std::string& user, const std::string& key_blob)
{
    std::string d;
    put_str(d, session_id);
    d.push_back(50);
    put_str(d, user);
    put_str(d, "ssh-connection");
    put_str(d, "publickey");
    d.push_back(1);
    put_str(d, "ssh-ed25519");
    put_str(d, key_blob);
    return d;
}

// One agent request and its answer (the answer's body; "" when the
// connection broke).
std::string agent_call(int fd, const std::string& body)
{
    std::string framed;
    put_str(framed, body);
    if (::write(fd, framed.data(), framed.size()) != static_cast<ssize_t>(framed.size())) return "";
    std::string in;
    std::size_t want = 4;
    while (in.size() < want) {
        char buf[4096];
        struct pollfd p {fd, POLLIN, 0};
        if (::poll(&p, 1, 10000 * scale()) <= 0) return "";
        ssize_t n = ::read(fd, buf, std::min(sizeof buf, want - in.size()));
        if (n <= 0) return "";
        in.append(buf, static_cast<std::size_t>(n));
        if (want == 4 && in.size() == 4)
            want += (std::uint32_t{static_cast<std::uint8_t>(in[0])} << 24) |
                    (std::uint32_t{static_cast<std::uint8_t>(in[1])} << 16) |
                    (std::uint32_t{static_cast<std::uint8_t>(in[2])} << 8) | static_cast<std::uint8_t>(in[3]);
    }
    return in.substr(4);
}

std::string sign_request(const std::string& key_blob, const std::string& data)
{
    std::string r(1, 13); // SSH_AGENTC_SIGN_REQUEST
    put_str(r, key_blob);
    put_str(r, data);
    put_u32(r, 0);
    return r;
}

// What the answer to a sign request was: "refused", "signed" (and the
// signature verifies over `data` with `key`), or what else came.
std::string sign_outcome(const std::string& answer, ssh_key key, const std::string& data)
{
    if (answer.size() == 1 && answer[0] == 5) return "refused";
    if (answer.size() < 5 || answer[0] != 14) return "answer of " + std::to_string(answer.size()) + " bytes";
    const std::string sig = answer.substr(5);
    ssh_string s = ssh_string_new(sig.size());
    ssh_string_fill(s, sig.data(), sig.size());
    ssh_key pub = nullptr;
    if (ssh_pki_export_privkey_to_pubkey(key, &pub) != SSH_OK) std::_Exit(96);
    const int rc = ssh_pki_verify_data_blob(pub, "ssh-ed25519", s, reinterpret_cast<const unsigned char*>(data.data()),
                                            data.size());
    ssh_key_free(pub);
    ssh_string_free(s);
    return rc == SSH_OK ? "signed" : "a signature that does not verify";
}

// session-bind@openssh.com for `session_id` with `host_key`, signed by
// `signer` (the host key itself when honest).
std::string session_bind(ssh_key host_key, const std::string& session_id, ssh_key signer = nullptr)
{
    ssh_string sig = nullptr;
    if (ssh_pki_sign_data_blob(signer != nullptr ? signer : host_key, "ssh-ed25519",
                               reinterpret_cast<const unsigned char*>(session_id.data()), session_id.size(),
                               &sig) != SSH_OK)
        std::_Exit(96);
    std::string r(1, 27); // SSH_AGENTC_EXTENSION
    put_str(r, "session-bind@openssh.com");
    put_str(r, blob_of(host_key));
    put_str(r, session_id);
    put_str(r, std::string(static_cast<const char*>(ssh_string_data(sig)), ssh_string_len(sig)));
    r.push_back(0);
    ssh_string_free(sig);
    return r;
}

int agent_connection(int sock)
{
    wire::Message m;
    m.set_type(kAgentConnect);
    send(sock, m);
    wire::Message a;
    if (!wire::recv_message(sock, a, "root part") || a.type() != kAgentAnswer || a.get_u32() != 1 ||
        a.fds().size() != 1)
        std::_Exit(94);
    return a.fds().front().release();
}

// The root key the agent holds (written 0600 by the driver) and its
// public half.
ssh_key root_key()
{
    ssh_key k = nullptr;
    if (ssh_pki_import_privkey_file((g_dir + "/root_key").c_str(), nullptr, nullptr, nullptr, &k) != SSH_OK)
        std::_Exit(97);
    return k;
}

// The SSH part's sign requests, each with its outcome, into a file the
// check reads: an honest one, then one refusal per rule.
void agent_requests(int sock)
{
    auto fds = open_device(sock, open_msg("", "", "", "", "", "server.example", 0, {g_dir + "/root_key"}));
    ssh_key key = root_key();
    ssh_key other = nullptr, host = nullptr;
    if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &other) != SSH_OK ||
        ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &host) != SSH_OK)
        std::_Exit(96);
    const std::string blob = blob_of(key), sid(32, 'S'), sid2(32, 'T');
    std::ofstream out(g_dir + "/agent");
    const int fd = agent_connection(sock);
    const std::string list = agent_call(fd, std::string(1, 11));
    out << "list " << (list.size() > 5 && list[0] == 12 && list.find(blob) != std::string::npos ? "holds" : "other") << "\n";
    auto ask = [&](const char* what, const std::string& key_blob, const std::string& data) {
        out << what << " " << sign_outcome(agent_call(fd, sign_request(key_blob, data)), key, data) << "\n";
    };
    ask("honest", blob, userauth_data(sid, "alice", blob));
    ask("host_key_exchange_hash", blob, std::string(32, 'H'));
    std::string not_userauth = userauth_data(sid, "alice", blob);
    not_userauth[4 + 32] = 80; // SSH_MSG_GLOBAL_REQUEST where 50 belongs
    ask("not_userauth", blob, not_userauth);
    ask("another_user", blob, userauth_data(sid, "mallory", blob));
    ask("trailing_bytes", blob, userauth_data(sid, "alice", blob) + "x");
    ask("key_not_held", blob_of(other), userauth_data(sid, "alice", blob_of(other)));
    ask("blob_not_the_key", blob, userauth_data(sid, "alice", blob_of(other)));
    // Bound to `sid`: another session's request is refused, its own signed.
    const std::string bound = agent_call(fd, session_bind(host, sid));
    out << "bind " << (bound.size() == 1 && bound[0] == 6 ? "accepted" : "refused") << "\n";
    ask("other_session", blob, userauth_data(sid2, "alice", blob));
    ask("bound_session", blob, userauth_data(sid, "alice", blob));
    const std::string rebind = agent_call(fd, session_bind(host, sid2));
    out << "rebind " << (rebind.size() == 1 && rebind[0] == 6 ? "accepted" : "refused") << "\n";
    ::close(fd);
    // A bind the host key did not sign is refused.
    const int fd2 = agent_connection(sock);
    const std::string forged = agent_call(fd2, session_bind(host, sid, other));
    out << "forged_bind " << (forged.size() == 1 && forged[0] == 6 ? "accepted" : "refused") << "\n";
    ::close(fd2);
    ssh_key_free(key);
    ssh_key_free(other);
    ssh_key_free(host);
}

std::string agent_check()
{
    std::ifstream f(g_dir + "/agent");
    std::string all, line;
    while (std::getline(f, line)) all += line + "; ";
    const std::string want = "list holds; honest signed; host_key_exchange_hash refused; not_userauth refused; "
                             "another_user refused; trailing_bytes refused; key_not_held refused; "
                             "blob_not_the_key refused; bind accepted; other_session refused; bound_session signed; "
                             "rebind refused; forged_bind refused; ";
    return all == want ? "" : "the agent answered: " + all + " (expected: " + want + ")";
}

// Interfaces in this namespace besides lo.
std::vector<std::string> interfaces()
{
    std::vector<std::string> out;
    struct if_nameindex* list = ::if_nameindex();
    if (list == nullptr) return out;
    for (auto* p = list; p->if_index != 0; ++p)
        if (std::strcmp(p->if_name, "lo") != 0) out.emplace_back(p->if_name);
    ::if_freenameindex(list);
    return out;
}

bool exists(const std::string& f) { return std::filesystem::exists(g_dir + "/" + f); }

struct Outcome {
    int root_status = -1; // the root part's exit status
    bool ssh_part_gone = false;
};

struct Scenario {
    const char* name;
    std::function<void(int sock)> ssh_part; // runs in the hostile SSH part, then it exits 0
    // The root part's (-1: the check decides): 255 for a violation (the SSH part is SIGKILLed; a
    // script that is not caught sleeps and exits 0, so its root part
    // would exit 0).
    int expect_status;
    std::function<std::string()> check;     // more checks; "" when fine
};

Outcome run(const Scenario& s)
{
    Outcome out;
    int status_pipe[2];
    if (::pipe(status_pipe) != 0) std::_Exit(91);
    std::fflush(nullptr); // nothing buffered is printed twice
    pid_t root = ::fork();
    if (root == 0) {
        ::close(status_pipe[0]);
        ::setsid(); // no terminal to ask on: a question is answered "no one" at once
        UniqueFd a, b;
        if (feth::open_socketpair(AF_UNIX, SOCK_STREAM, feth::IoMode::blocking, a, b) != 0) std::_Exit(92);
        pid_t ssh = ::fork();
        if (ssh == 0) {
            a.reset();
            try {
                s.ssh_part(b.get());
            } catch (const std::exception& e) {
                std::fprintf(stderr, "  (ssh part: %s)\n", e.what());
            }
            std::fflush(nullptr);
            std::_Exit(0);
        }
        b.reset();
        int st = feth::client::run_root_part(std::move(a), ssh, UniqueFd());
        // run_root_part has reaped it: the pid must be gone.
        const bool gone = ::kill(ssh, 0) != 0;
        char msg[2] = {static_cast<char>(gone ? 'g' : 'l'), 0};
        (void)!::write(status_pipe[1], msg, 1);
        std::fflush(nullptr);
        std::_Exit(st);
    }
    ::close(status_pipe[1]);
    int st = 0;
    ::waitpid(root, &st, 0);
    char c = 0;
    (void)!::read(status_pipe[0], &c, 1);
    ::close(status_pipe[0]);
    out.root_status = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
    out.ssh_part_gone = c == 'g';
    return out;
}

// A known_hosts line that is not exactly for kKhName (N6): each is refused
// (the SSH part is killed) and nothing is written.
Scenario refused_line(const char* name, std::function<std::string()> line)
{
    return {name,
            [line](int sock) {
                auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", kKhName));
                send(sock, kh_msg({line()}));
                std::this_thread::sleep_for(5s);
            },
            255, [] { return std::string(exists("kh") ? "a line was written" : ""); }};
}

std::vector<Scenario> refused_lines()
{
    const std::string name = kKhName;
    return {
        refused_line("known_hosts_star", [] { return known_hosts_line("*"); }),
        refused_line("known_hosts_host_and_star", [=] { return known_hosts_line(name + ",*"); }),
        refused_line("known_hosts_question_marks", [] { return known_hosts_line("?*"); }),
        refused_line("known_hosts_pattern_for_the_host", [] { return known_hosts_line("[server.exampl?]:2222"); }),
        refused_line("known_hosts_hash_and_star", [] { return known_hosts_line("|1|AAAA|BBBB,*"); }),
        refused_line("known_hosts_hash_of_another",
                     [] { return known_hosts_line(feth::config::hashed_known_hosts_name("bank.example")); }),
        refused_line("known_hosts_negation", [=] { return known_hosts_line("!bank.example," + name); }),
        refused_line("known_hosts_cert_authority", [=] { return "@cert-authority " + known_hosts_line(name); }),
        refused_line("known_hosts_revoked", [=] { return "@revoked " + known_hosts_line(name); }),
        refused_line("known_hosts_address_not_asked", [] { return known_hosts_line("[198.18.0.9]:2222"); }),
        refused_line("known_hosts_no_key", [=] { return name + " ssh-ed25519 AAAAnotakey"; }),
    };
}

std::vector<Scenario> scenarios()
{
    const std::string up = "echo \"$FETH_INTERFACE $FETH_REMOTE_ADDRESS $(id -u)\" >" + g_dir + "/up";
    const std::string down = "echo down >" + g_dir + "/down";
    std::vector<Scenario> all = {
        {"honest",
         [=](int sock) {
             auto fds = open_device(sock, open_msg(up, down));
             if (fds.empty()) std::_Exit(93);
             send(sock, up_msg("198.18.0.1"));
             if (!wait_hook_done(sock)) std::_Exit(94);
             wire::Message d;
             d.set_type(kTunnelDown);
             send(sock, d);
             if (!wait_hook_done(sock)) std::_Exit(95);
         },
         0,
         [] {
             std::ifstream f(g_dir + "/up");
             std::string line;
             std::getline(f, line);
             if (line.rfind("tap", 0) != 0 || line.find(" 198.18.0.1 0") == std::string::npos)
                 return "up hook wrote '" + line + "'";
             return std::string(exists("down") ? "" : "no down hook");
         }},
        {"second_open",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             send(sock, open_msg()); // a second device
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        {"up_before_open",
         [=](int sock) {
             send(sock, up_msg("198.18.0.1"));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(exists("up") ? "a hook ran" : ""); }},
        {"address_not_numeric",
         [=](int sock) {
             auto fds = open_device(sock, open_msg(up, down));
             send(sock, up_msg("198.18.0.1;id"));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(exists("up") ? "the up hook ran" : ""); }},
        {"nul_in_hook",
         [=](int sock) {
             auto fds = open_device(sock, open_msg(std::string("true\0rm", 7)));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        {"huge_length",
         [=](int sock) {
             unsigned char hdr[8] = {0, 0, 0, 101, 0x7f, 0xff, 0xff, 0xff};
             (void)!::write(sock, hdr, sizeof hdr);
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        {"half_a_header",
         [=](int sock) {
             unsigned char hdr[3] = {0, 0, 0};
             (void)!::write(sock, hdr, sizeof hdr);
             std::this_thread::sleep_for(std::chrono::seconds(20 * scale()));
         },
         255, [] { return std::string(); }},
        {"descriptor_sent",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             wire::Message m = up_msg("198.18.0.1");
             int null = ::open("/dev/null", O_RDONLY);
             m.add_fd(null);
             try {
                 send(sock, m);
             } catch (const std::exception&) {
                 // The kernel refused it (SO_PASSRIGHTS off, Linux 6.16+):
                 // nothing reached the root part, which goes on.
                 std::ofstream(g_dir + "/kernel_refused") << "yes\n";
                 return;
             }
             std::this_thread::sleep_for(5s);
         },
         -1,
         [] {
             if (exists("up")) return std::string("a hook ran");
             if (exists("kernel_refused"))
                 return std::string(g_root_status == 0 ? "" : "the kernel refused it, yet the root part exited " +
                                                                   std::to_string(g_root_status));
             return std::string(g_root_status == 255 ? "" : "a descriptor reached the root part and it went on");
         }},
        {"detach_without_f",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             wire::Message m;
             m.set_type(kDetach);
             send(sock, m);
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        {"known_hosts_for_the_host",
         [=](int sock) {
             auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", kKhName));
             send(sock, kh_msg({known_hosts_line(kKhName), known_hosts_line(std::string(kKhName) + "," + kKhName)}));
             std::this_thread::sleep_for(200ms);
         },
         0, [] { return std::string(lines_in(g_dir + "/kh") == 2 ? "" : "the 2 lines are not in known_hosts"); }},
        {"known_hosts_hashed",
         [=](int sock) {
             auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", kKhName));
             send(sock, kh_msg({known_hosts_line(feth::config::hashed_known_hosts_name(kKhName))}));
             std::this_thread::sleep_for(200ms);
         },
         0, [] { return std::string(lines_in(g_dir + "/kh") == 1 ? "" : "the hashed line is not in known_hosts"); }},
        // CheckHostIP: an address the root part resolves the host name to
        // (localhost: /etc/hosts), with the port of Open; any other refused.
        {"known_hosts_check_host_ip",
         [=](int sock) {
             auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", "[localhost]:2222", "", "localhost", 2222));
             send(sock, kh_msg({known_hosts_line("[localhost]:2222,[127.0.0.1]:2222")}));
             std::this_thread::sleep_for(200ms);
             send(sock, kh_msg({known_hosts_line("[198.18.0.9]:2222")}));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(lines_in(g_dir + "/kh") == 1 ? "" : "not exactly the address line in known_hosts"); }},
        {"known_hosts_other_host",
         [=](int sock) {
             auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", kKhName));
             send(sock, kh_msg({known_hosts_line(kKhName), known_hosts_line("bank.example")}));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(exists("kh") ? "a line was written" : ""); }},
        {"known_hosts_two_lines_in_one",
         [=](int sock) {
             auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", kKhName));
             send(sock, kh_msg({known_hosts_line(kKhName) + "\n" + known_hosts_line("bank.example")}));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(exists("kh") ? "a line was written" : ""); }},
        {"known_hosts_without_file",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             send(sock, kh_msg({known_hosts_line(kKhName)}));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        {"known_hosts_flood",
         [=](int sock) {
             auto fds = open_device(sock, open_msg("", "", g_dir + "/kh", kKhName));
             const std::string line = known_hosts_line(kKhName);
             for (int i = 0; i < 20; ++i) send(sock, kh_msg(std::vector<std::string>(8, line)));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(lines_in(g_dir + "/kh") <= 64 ? "" : "more than 64 lines written"); }},
        {"agent_without_agent",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             wire::Message m;
             m.set_type(kAgentConnect);
             send(sock, m);
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        // SSH_ASKPASS_REQUIRE=force (set by main for this scenario's root
        // part): the root part runs SSH_ASKPASS with the prompt and passes
        // its first line, only, back.
        {"ask_askpass",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             send(sock, ask_msg("Enter passphrase for key '/root/.ssh/id_ed25519': "));
             wire::Message a;
             if (!wire::recv_message(sock, a, "root part") || a.type() != kAskAnswer) std::_Exit(94);
             const std::uint32_t answered = a.get_u32();
             const std::string answer = a.get_string(4096);
             std::ofstream(g_dir + "/answer") << answered << ":" << answer;
         },
         0,
         [] {
             std::ifstream f(g_dir + "/answer"), p(g_dir + "/askpass_prompt");
             std::string answer, prompt;
             std::getline(f, answer);
             std::getline(p, prompt);
             if (answer != "1:sekrit") return "answer '" + answer + "'";
             if (prompt != "Enter passphrase for key '/root/.ssh/id_ed25519': ") return "askpass was shown '" + prompt + "'";
             return std::string();
         }},
        {"ask_with_escape",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             send(sock, ask_msg("Passphrase \x1b]0;owned\x07: "));
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        {"ask_flood",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             for (int i = 0; i < 40; ++i) {
                 send(sock, ask_msg("Enter passphrase for key '/root/.ssh/id_ed25519': "));
                 wire::Message a;
                 if (!wire::recv_message(sock, a, "root part") || a.type() != kAskAnswer) break;
                 if (i == 0 && a.get_u32() != 0) std::_Exit(95); // no terminal: no answer
             }
             std::this_thread::sleep_for(5s);
         },
         255, [] { return std::string(); }},
        // The root part's agent signs only a user-authentication request
        // for the user of Open, with a key it holds, for the very key, and
        // on a bound connection only for that session.
        {"agent_sign_rules", agent_requests, 0, agent_check},
        {"persist_then_exit",
         [=](int sock) {
             auto fds = open_device(sock, open_msg());
             if (fds.empty()) std::_Exit(93);
             (void)::ioctl(fds[0].get(), TUNSETPERSIST, 1);
             (void)::ioctl(fds[0].get(), TUNSETOWNER, 65534);
         },
         0, [] { return std::string(); }},
        {"killed_while_up",
         [=](int sock) {
             auto fds = open_device(sock, open_msg(up, down));
             send(sock, up_msg("2001:db8::1"));
             if (!wait_hook_done(sock)) std::_Exit(94);
             ::raise(SIGKILL);
         },
         255, [] { return std::string(exists("down") ? "" : "no down hook after the SSH part died"); }},
    };
    for (auto& r : refused_lines()) all.push_back(std::move(r));
    return all;
}

// N7: the SSH part has no terminal. The root part runs on a pty as its
// controlling terminal; the SSH part calls leave_terminal() as feth-ssh's
// does, becomes nobody (as started by root directly), and tries: fds 0-2
// terminals, /dev/tty, TIOCSTI on each; then it writes a line with escape
// sequences to stderr, which the root part relays. Nothing may reach the
// pty's input, and the relayed line must carry no control character.
std::string no_terminal()
{
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) return "no pty";
    const std::string slave_name = ::ptsname(master);
    std::fflush(nullptr);
    pid_t root = ::fork();
    if (root == 0) {
        ::setsid();
        int slave = ::open(slave_name.c_str(), O_RDWR);
        if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) != 0) std::_Exit(80);
        ::dup2(slave, 0);
        ::dup2(slave, 1);
        ::dup2(slave, 2);
        UniqueFd a, b, log_rd, log_wr;
        if (feth::open_socketpair(AF_UNIX, SOCK_STREAM, feth::IoMode::blocking, a, b) != 0 ||
            feth::open_pipe(feth::IoMode::blocking, log_rd, log_wr) != 0)
            std::_Exit(81);
        pid_t ssh = ::fork();
        if (ssh == 0) {
            a.reset();
            log_rd.reset();
            ::close(slave);
            feth::client::leave_terminal(log_wr.get());
            log_wr.reset();
            if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) std::_Exit(82);
            int found = 0;
            for (int fd = 0; fd <= 2; ++fd) {
                if (::isatty(fd)) found |= 1;
                const char c = 'X';
                if (::ioctl(fd, TIOCSTI, &c) == 0) found |= 2;
            }
            int tty = ::open("/dev/tty", O_RDWR);
            if (tty >= 0) {
                found |= 4;
                const char c = 'Y';
                if (::ioctl(tty, TIOCSTI, &c) == 0) found |= 8;
            }
            int pts = ::open(slave_name.c_str(), O_RDWR);
            if (pts >= 0) {
                found |= 16;
                const char c = 'Z';
                if (::ioctl(pts, TIOCSTI, &c) == 0) found |= 32;
            }
            std::fprintf(stderr, "relayed \x1b]0;title\x07 \x9b" "31m end\n");
            std::fflush(nullptr);
            std::_Exit(found);
        }
        b.reset();
        log_wr.reset();
        std::_Exit(feth::client::run_root_part(std::move(a), ssh, UniqueFd(), std::move(log_rd)));
    }
    int st = 0;
    ::waitpid(root, &st, 0);
    // What the pty's master holds: the relayed output; and what its input
    // holds: anything injected would be echoed back here too (ECHO is on).
    std::string out;
    for (;;) {
        struct pollfd p {master, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) break;
        char buf[512];
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(master);
    if (!WIFEXITED(st)) return "the root part died";
    const int found = WEXITSTATUS(st);
    if (found != 0)
        return "the SSH part found a terminal (" + std::to_string(found) + ": 1 on fd 0-2, 2 TIOCSTI there, 4 /dev/tty, "
               "8 TIOCSTI there, 16 the pts by name, 32 TIOCSTI there)";
    if (out.find_first_of("XYZ") != std::string::npos) return "characters reached the terminal's input: " + out;
    if (out.find("relayed ?]0;title? ?31m end") == std::string::npos) return "relayed output not as expected: " + out;
    if (out.find('\x1b') != std::string::npos || out.find('\x07') != std::string::npos) return "an escape was relayed";
    return "";
}

} // namespace

int main(int argc, char** argv)
{
    if (::geteuid() != 0) {
        std::puts("SKIP: needs root");
        return 77;
    }
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
        std::puts("SKIP: no /dev/net/tun");
        return 77;
    }
    if (::unshare(CLONE_NEWNET) != 0) {
        std::printf("SKIP: unshare(CLONE_NEWNET): %s\n", std::strerror(errno));
        return 77;
    }
    ::signal(SIGPIPE, SIG_IGN);
    feth::log::Options lo;
    lo.ident = "hostile_ssh_part";
    feth::log::configure(lo);
    char tmpl[] = "/tmp/hostile-ssh-part.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return 1;
    g_dir = tmpl;
    int failures = 0, ran = 0;
    for (const auto& s : scenarios()) {
        if (argc > 1) {
            bool want = false;
            for (int i = 1; i < argc; ++i) want = want || s.name == std::string(argv[i]);
            if (!want) continue;
        }
        ++ran;
        if (s.name == std::string("ask_askpass")) {
            const std::string askpass = g_dir + "/askpass";
            std::ofstream(askpass) << "#!/bin/sh\nprintf '%s\\n' \"$1\" >" << g_dir << "/askpass_prompt\necho sekrit\necho second line\n";
            std::filesystem::permissions(askpass, std::filesystem::perms::owner_all);
            ::setenv("SSH_ASKPASS", askpass.c_str(), 1);
            ::setenv("SSH_ASKPASS_REQUIRE", "force", 1);
        } else {
            ::unsetenv("SSH_ASKPASS");
            ::unsetenv("SSH_ASKPASS_REQUIRE");
        }
        std::filesystem::remove(g_dir + "/up");
        std::filesystem::remove(g_dir + "/down");
        std::filesystem::remove(g_dir + "/kernel_refused");
        std::filesystem::remove(g_dir + "/kh");
        if (s.name == std::string("agent_sign_rules")) {
            ssh_key k = nullptr;
            if (ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, &k) != SSH_OK ||
                ssh_pki_export_privkey_file(k, nullptr, nullptr, nullptr, (g_dir + "/root_key").c_str()) != SSH_OK)
                return 1;
            ssh_key_free(k);
            std::filesystem::permissions(g_dir + "/root_key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        }
        Outcome o = run(s);
        g_root_status = o.root_status;
        std::string why;
        if (s.expect_status >= 0 && o.root_status != s.expect_status)
            why = "root part exited " + std::to_string(o.root_status) + ", expected " + std::to_string(s.expect_status);
        else if (!o.ssh_part_gone)
            why = "the SSH part outlived the root part";
        else if (auto left = interfaces(); !left.empty())
            why = "interface left: " + left.front();
        else
            why = s.check();
        if (why.empty()) std::printf("PASS: %s\n", s.name);
        else {
            std::printf("FAIL: %s: %s\n", s.name, why.c_str());
            ++failures;
        }
    }
    bool want_no_terminal = argc == 1;
    for (int i = 1; i < argc; ++i) want_no_terminal = want_no_terminal || std::string(argv[i]) == "no_terminal";
    if (want_no_terminal) {
        ++ran;
        const std::string why = no_terminal();
        if (why.empty()) std::printf("PASS: no_terminal\n");
        else {
            std::printf("FAIL: no_terminal: %s\n", why.c_str());
            ++failures;
        }
    }
    std::filesystem::remove_all(g_dir);
    std::printf("%d of %d scenarios failed\n", failures, ran);
    return failures == 0 ? 0 : 1;
}

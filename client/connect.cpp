#include "connect.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <cstring>
#include <fstream>
#include <vector>

#include "config/known_hosts_hash.hpp"
#include "client/agent_add.hpp"
#include "client/agent_wire.hpp"
#include "client/host_cert.hpp"
#include "client/host_key_check.hpp"
#include "client/proxy.hpp"
#include "client/server_requests.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"
#include "tunnel/ssh_algorithms.hpp"
#include "tunnel/ssh_keys.hpp"

namespace feth::client {
namespace {

using Kind = ConnectError::Kind;

std::string proxy_note(const std::string& failure) { return failure.empty() ? "" : " (" + failure + ")"; }

std::string endpoint(const Destination& d)
{
    return "host " + *d.config.host_name + " port " + std::to_string(*d.config.port);
}

// BindAddress (-b): the socket's local address before it connects, as ssh
// binds it (a numeric address or a name, the family of the peer's). False,
// with `why`, when it cannot be bound: the next address is tried.
bool bind_local(const Destination& d, int fd, int family, std::string& why)
{
    const auto& c = d.config;
    if (!c.bind_address) return true;
    struct addrinfo hints {};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    struct addrinfo* res = nullptr;
    int gai = ::getaddrinfo(c.bind_address->c_str(), nullptr, &hints, &res);
    if (gai != 0) {
        why = "BindAddress " + *c.bind_address + ": " + ::gai_strerror(gai);
        return false;
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        why = "bind to BindAddress " + *c.bind_address + ": " + errno_text(errno);
        return false;
    }
    return true;
}

// Tries each address in turn, as ssh does, with ConnectTimeout per attempt.
UniqueFd tcp_connect(const Destination& d)
{
    const auto& c = d.config;
    struct addrinfo hints {};
    hints.ai_family = *c.address_family == config::AddressFamily::Inet    ? AF_INET
                      : *c.address_family == config::AddressFamily::Inet6 ? AF_INET6
                                                                          : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo* res = nullptr;
    std::string port = std::to_string(*c.port);
    int gai = ::getaddrinfo(c.host_name->c_str(), port.c_str(), &hints, &res);
    if (gai != 0)
        throw ConnectError(Kind::Network, "Could not resolve hostname " + *c.host_name + ": " + ::gai_strerror(gai));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);

    const int timeout_ms = *c.connect_timeout > 0 ? static_cast<int>(*c.connect_timeout) * 1000 : -1;
    std::string last = "no address";
    for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
        UniqueFd fd = open_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol, IoMode::nonblocking);
        if (!fd || !bind_local(d, fd.get(), ai->ai_family, last)) {
            if (!fd) last = errno_text(errno);
            continue;
        }
        int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p {fd.get(), POLLOUT, 0};
            rc = ::poll(&p, 1, timeout_ms);
            if (rc == 0) {
                last = "Connection timed out";
                continue;
            }
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            rc = err == 0 ? 0 : -1;
            errno = err;
        }
        if (rc != 0) {
            last = errno_text(errno);
            continue;
        }
        // libssh runs the socket in its own mode; hand it over blocking.
        if (set_io_mode(fd.get(), IoMode::blocking) != 0) {
            last = errno_text(errno);
            continue;
        }
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
    throw ConnectError(Kind::Network, "connect to " + endpoint(d) + ": " + last);
}



// Where a configured file is read from (its private copy, if any).
const std::string& file_path(const Destination& d, const std::string& name)
{
    auto it = d.file_copies.find(name);
    return it != d.file_copies.end() ? it->second : name;
}

// ConnectionAttempts: the whole address list that many times, a second
// apart, as ssh's ssh_connect_direct.
UniqueFd tcp_connect_attempts(const Destination& d)
{
    const unsigned attempts = d.config.connection_attempts.value_or(1);
    for (unsigned i = 1;; ++i) {
        try {
            return tcp_connect(d);
        } catch (const ConnectError& e) {
            if (i >= attempts) throw;
            LOG_DEBUG("connection attempt %u of %u: %s", i, attempts, e.what());
            ::sleep(1);
        }
    }
}

// "[host]:port" or "host", as known_hosts names a host; HostKeyAlias alone
// when set (ssh leaves the port out then).
std::string known_hosts_name(const Destination& d)
{
    if (d.config.host_key_alias) return *d.config.host_key_alias;
    if (*d.config.port == 22) return *d.config.host_name;
    return "[" + *d.config.host_name + "]:" + std::to_string(*d.config.port);
}

// Finds the known_hosts line that holds a key for this host, for the
// "Offending key in FILE:LINE" message.
std::string offending_line(const Destination& d)
{
    const auto& files = *d.config.user_known_hosts_files;
    if (files.empty()) return "";
    std::ifstream in(file_path(d, files.front()));
    std::string line;
    const std::string name = known_hosts_name(d);
    for (std::size_t n = 1; std::getline(in, line) && n < 1000000; ++n) {
        struct ssh_knownhosts_entry* entry = nullptr;
        if (line.empty() || line[0] == '#') continue;
        if (ssh_known_hosts_parse_line(name.c_str(), line.c_str(), &entry) == SSH_OK && entry != nullptr) {
            ssh_knownhosts_entry_free(entry);
            return files.front() + ":" + std::to_string(n);
        }
    }
    return files.front();
}

bool ask_yes_no(const Destination& d, const std::string& question)
{
    // Separated, the SSH part has no terminal: the root part asks.
    if (d.ask) {
        const auto answer = d.ask(question, true);
        return answer && *answer == "yes";
    }
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC));
    if (!tty) return false;
    (void)!::write(tty.get(), question.data(), question.size());
    std::string answer;
    char ch = 0;
    while (answer.size() < 128 && ::read(tty.get(), &ch, 1) == 1 && ch != '\n') answer += ch;
    return answer == "yes";
}

// Appends "NAME TYPE BASE64" to the first UserKnownHostsFile, its name
// hashed with HashKnownHosts yes (ssh's "|1|salt|hash" form).
int append_known_hosts_entry(const Destination& d, std::string entry)
{
    const auto& files = *d.config.user_known_hosts_files;
    if (files.empty()) return SSH_ERROR;
    const auto space = entry.find(' ');
    if (space == std::string::npos) return SSH_ERROR;
    if (d.config.hash_known_hosts.value_or(false)) {
        try {
            entry = config::hashed_known_hosts_name(entry.substr(0, space)) + entry.substr(space);
        } catch (const std::exception& e) {
            LOG_ERROR("%s", e.what());
            return SSH_ERROR;
        }
    }
    if (entry.back() != '\n') entry += '\n';
    // A private copy (started by root without sudo) is a /proc/self/fd
    // link, which O_NOFOLLOW would refuse; the user's own file is not.
    const std::string& file = file_path(d, files.front());
    const int nofollow = file == files.front() ? O_NOFOLLOW : 0;
    UniqueFd fd(::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | nofollow, 0600));
    if (!fd) return SSH_ERROR;
    return ::write(fd.get(), entry.data(), entry.size()) == static_cast<ssize_t>(entry.size()) ? SSH_OK : SSH_ERROR;
}

// Records the session's host key as libssh would (hashed: as above).
int add_known_host(const Destination& d, ssh_session session)
{
    if (!d.config.hash_known_hosts.value_or(false)) return ssh_session_update_known_hosts(session);
    char* raw = nullptr;
    if (ssh_session_export_known_hosts_entry(session, &raw) != SSH_OK || raw == nullptr) return SSH_ERROR;
    std::string entry(raw);
    ssh_string_free_char(raw);
    return append_known_hosts_entry(d, entry);
}

// Records a key that is not the session's: a certificate's plain key, as
// ssh records it after falling back to it.
int add_known_host_key(const Destination& d, ssh_key key)
{
    const char* type = ssh_key_type_to_char(ssh_key_type(key));
    char* b64 = nullptr;
    if (type == nullptr || ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK || b64 == nullptr) return SSH_ERROR;
    std::string entry = known_hosts_name(d) + " " + type + " " + b64;
    ssh_string_free_char(b64);
    return append_known_hosts_entry(d, entry);
}

// CheckHostIP yes (ssh 9.x's default is no): once the host's key is known,
// the server's address is looked up too, as ssh's check_host_key does: a
// new address is recorded, a different key for it is ssh's warning, fatal
// with StrictHostKeyChecking yes or accept-new, a question with ask.
void check_host_ip(const Destination& d, ssh_session session, const std::string& type)
{
    const auto& c = d.config;
    if (!c.check_host_ip.value_or(false)) return;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    char ip[NI_MAXHOST] = {};
    if (::getpeername(ssh_get_fd(session), reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
        ::getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, ip, sizeof ip, nullptr, 0, NI_NUMERICHOST) != 0)
        return; // no socket address (a proxy): nothing to compare, as ssh
    const std::string addr(ip);
    if (addr == *c.host_name || addr == "127.0.0.1" || addr == "::1") return; // ssh: local or already an address
    // libssh looks up the name its HOST and PORT options make: the address,
    // then back to what verify_host_key used.
    unsigned port = *c.port;
    ssh_options_set(session, SSH_OPTIONS_HOST, addr.c_str());
    ssh_options_set(session, SSH_OPTIONS_PORT, &port);
    const auto state = ssh_session_is_known_server(session);
    int added = SSH_OK;
    if (state == SSH_KNOWN_HOSTS_UNKNOWN || state == SSH_KNOWN_HOSTS_NOT_FOUND) added = add_known_host(d, session);
    unsigned alias_port = c.host_key_alias ? 22 : *c.port;
    ssh_options_set(session, SSH_OPTIONS_HOST, c.host_key_alias ? c.host_key_alias->c_str() : c.host_name->c_str());
    ssh_options_set(session, SSH_OPTIONS_PORT, &alias_port);
    using S = config::StrictHostKeyChecking;
    switch (state) {
    case SSH_KNOWN_HOSTS_OK: return;
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
        if (added == SSH_OK)
            LOG_INFO("Warning: Permanently added the %s host key for IP address '%s' to the list of known hosts.",
                     type.c_str(), addr.c_str());
        else
            LOG_ERROR("Failed to add the %s host key for IP address '%s' to the list of known hosts.", type.c_str(),
                      addr.c_str());
        return;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
        const std::string msg = "Warning: the " + type + " host key for '" + known_hosts_name(d) +
                                "' differs from the key for the IP address '" + addr + "'";
        const auto mode = *c.strict_host_key_checking;
        if (mode == S::Ask) {
            if (d.batch_mode || !ask_yes_no(d, msg + "\nAre you sure you want to continue connecting (yes/no)? "))
                throw ConnectError(Kind::HostKey, msg + "\nHost key verification failed.");
        } else if (mode != S::No) {
            throw ConnectError(Kind::HostKey, msg + "\nExiting, you have requested strict checking.");
        } else {
            LOG_ERROR("%s", msg.c_str());
        }
        return;
    }
    default: LOG_DEBUG("CheckHostIP: known_hosts lookup for %s failed: %s", addr.c_str(), ssh_get_error(session));
    }
}

// Every known_hosts file as ssh reads it for the host: the user's (their
// private copies, if any) and the global ones.
std::vector<KnownHostsFile> known_hosts_files(const Destination& d)
{
    std::vector<KnownHostsFile> files;
    for (const auto& f : *d.config.user_known_hosts_files) files.push_back({file_path(d, f), f});
    for (const auto& f : d.config.global_known_hosts_files.value_or(std::vector<std::string>{})) files.push_back({f, f});
    return files;
}

// ssh's text when it cannot trust the key and would go on without the
// tunnel (continue_unsafe): feth-ssh has nothing else to do, so it ends.
constexpr const char* kTunnelCancelled = "Tunnel forwarding is disabled to avoid man-in-the-middle attacks.\n"
                                         "Error: forwarding disabled due to host key check failure";

// A key marked @revoked for this host (libssh skips marker lines) is
// refused whatever StrictHostKeyChecking says, as ssh's HOST_REVOKED.
void refuse_revoked(const Destination& d, ssh_key key, const std::string& type, const std::string& host)
{
    const auto where = revoked_host_key(known_hosts_files(d), host, key);
    if (!where) return;
    const bool strict = *d.config.strict_host_key_checking != config::StrictHostKeyChecking::No;
    throw ConnectError(Kind::HostKey,
                       "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
                       "@       WARNING: REVOKED HOST KEY DETECTED!               @\n"
                       "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
                       "The " + type + " host key for " + host + " is marked as revoked.\n"
                       "This could mean that a stolen key is being used to\n"
                       "impersonate this host.\n"
                       "Revoked key in " + *where + "\n" +
                           (strict ? type + " host key for " + host +
                                         " was revoked and you have requested strict checking.\n"
                                         "Host key verification failed."
                                   : std::string(kTunnelCancelled)));
}

// What known_hosts says of the key: libssh's answer for the session's own
// key; for a certificate's plain key, which libssh cannot look up, ours
// (known_host_key reads the lines as libssh does).
enum ssh_known_hosts_e known_host_state(const Destination& d, ssh_session session, ssh_key plain_of_certificate)
{
    if (plain_of_certificate == nullptr) return ssh_session_is_known_server(session);
    switch (known_host_key(known_hosts_files(d), known_hosts_name(d), plain_of_certificate)) {
    case KnownHostKey::Known: return SSH_KNOWN_HOSTS_OK;
    case KnownHostKey::Changed: return SSH_KNOWN_HOSTS_CHANGED;
    case KnownHostKey::Unknown: break;
    }
    return SSH_KNOWN_HOSTS_UNKNOWN;
}

// The host key checked as an ordinary one (ssh's check_host_key): the
// session's key, or the plain key of a certificate no CA vouched for
// (`plain_of_certificate`), which is recorded itself and, as ssh, without
// CheckHostIP.
void verify_plain_host_key(const Destination& d, ssh_session session, ssh_key key, bool plain_of_certificate)
{
    const std::string fp = key_fingerprint(key);
    const std::string type = key_type_label(key);
    const std::string host = known_hosts_name(d);
    const auto mode = *d.config.strict_host_key_checking;
    using S = config::StrictHostKeyChecking;

    refuse_revoked(d, key, type, host);
    switch (known_host_state(d, session, plain_of_certificate ? key : nullptr)) {
    case SSH_KNOWN_HOSTS_OK:
        if (!plain_of_certificate) check_host_ip(d, session, type);
        return;
    case SSH_KNOWN_HOSTS_CHANGED:
    case SSH_KNOWN_HOSTS_OTHER: {
        std::string where = offending_line(d);
        std::string msg =
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n"
            "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
            "Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n"
            "It is also possible that a host key has just been changed.\n"
            "The fingerprint for the " + type + " key sent by the remote host is\n" + fp + ".\n"
            "Please contact your system administrator.\n"
            "Offending key in " + where + "\n";
        // With StrictHostKeyChecking no ssh goes on without tunnel
        // forwarding (continue_unsafe): a tunnel is all feth-ssh does.
        if (mode == S::No) throw ConnectError(Kind::HostKey, msg + kTunnelCancelled);
        throw ConnectError(Kind::HostKey, msg + "Host key for " + host + " has changed and you have requested "
                                                "strict checking.\nHost key verification failed.");
    }
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND: {
        if (mode == S::Yes)
            throw ConnectError(Kind::HostKey, "No " + type + " host key is known for " + host +
                                                  " and you have requested strict checking.\n"
                                                  "Host key verification failed.");
        if (mode == S::Ask) {
            std::string q = "The authenticity of host '" + host + "' can't be established.\n" + type +
                            " key fingerprint is " + fp +
                            ".\nAre you sure you want to continue connecting (yes/no)? ";
            if (d.batch_mode || !ask_yes_no(d, q)) throw ConnectError(Kind::HostKey, "Host key verification failed.");
        }
        if ((plain_of_certificate ? add_known_host_key(d, key) : add_known_host(d, session)) != SSH_OK)
            LOG_ERROR("Failed to add the host to the list of known hosts (%s): %s",
                      d.config.user_known_hosts_files->empty() ? "none"
                                                               : d.config.user_known_hosts_files->front().c_str(),
                      ssh_get_error(session));
        else
            LOG_INFO("Warning: Permanently added '%s' (%s) to the list of known hosts.", host.c_str(), type.c_str());
        if (!plain_of_certificate) check_host_ip(d, session, type);
        return;
    }
    case SSH_KNOWN_HOSTS_ERROR:
    default:
        throw ConnectError(Kind::HostKey, std::string("known_hosts check failed: ") + ssh_get_error(session));
    }
}

// A host certificate as ssh's check_host_key takes it. Refused outright
// when it does not parse or its CA's signature fails (ssh's key exchange
// fails on such a key), or when its key or its CA is @revoked. Accepted
// (nullptr) when a @cert-authority line for the host names its CA and it
// is good for the host (HostKeyAlias, else HostName). Otherwise its plain
// key, which the caller checks as any host key.
KeyPtr check_host_certificate(const Destination& d, ssh_key certificate)
{
    ssh_string raw_blob = nullptr;
    if (ssh_pki_export_pubkey_blob(certificate, &raw_blob) != SSH_OK || raw_blob == nullptr)
        throw ConnectError(Kind::HostKey, "cannot read the server's host certificate");
    const std::string blob(static_cast<const char*>(ssh_string_data(raw_blob)), ssh_string_len(raw_blob));
    ssh_string_free(raw_blob);
    std::string why;
    const auto cert = parse_host_certificate(blob, why);
    if (cert) why = certificate_signature_problem(*cert);
    KeyPtr plain = cert ? key_from_blob(cert->plain_key) : nullptr;
    KeyPtr ca = cert ? key_from_blob(cert->ca_key) : nullptr;
    if (why.empty() && (!plain || !ca)) why = "its key does not parse";
    if (!why.empty())
        throw ConnectError(Kind::HostKey, "Invalid host certificate from " + endpoint(d) + ": " + why +
                                              "\nHost key verification failed.");

    const std::string host = known_hosts_name(d);
    const std::string type = key_type_label(plain.get()) + "-CERT";
    refuse_revoked(d, plain.get(), type, host);
    refuse_revoked(d, ca.get(), type, host);
    const auto files = known_hosts_files(d);
    const auto ca_line = certificate_authority(files, host, ca.get());
    if (!ca_line) {
        if (const auto other = certificate_authority(files, host, nullptr))
            LOG_DEBUG("Host certificate authority does not match @cert-authority in %s", other->c_str());
        LOG_DEBUG("No matching CA found. Retry with plain key");
        return plain;
    }
    const std::string principal = d.config.host_key_alias ? *d.config.host_key_alias : *d.config.host_name;
    const auto now = static_cast<std::uint64_t>(std::max<std::time_t>(0, std::time(nullptr)));
    const std::string problem = certificate_host_problem(*cert, principal, now);
    if (!problem.empty()) {
        LOG_ERROR("%s", problem.c_str());
        LOG_DEBUG("No matching CA found. Retry with plain key");
        return plain;
    }
    LOG_DEBUG("Host '%s' is known and matches the %s host certificate.", host.c_str(), type.c_str());
    LOG_DEBUG("Found CA key in %s", ca_line->c_str());
    return nullptr;
}

void verify_host_key(const Destination& d, ssh_session session)
{
    ssh_key raw = nullptr;
    if (ssh_get_server_publickey(session, &raw) != SSH_OK)
        throw ConnectError(Kind::HostKey, std::string("cannot read the server's host key: ") + ssh_get_error(session));
    KeyPtr key(raw);
    const char* type_name = ssh_key_type_to_char(ssh_key_type(key.get()));
    if (type_name == nullptr || !is_certificate_type(type_name)) {
        verify_plain_host_key(d, session, key.get(), false);
        return;
    }
    if (KeyPtr plain = check_host_certificate(d, key.get())) verify_plain_host_key(d, session, plain.get(), true);
}

// Passphrase prompt on the terminal (never on stdin, which may carry data).
int passphrase_prompt(const char* prompt, char* buf, size_t len, int, int, void* userdata)
{
    const auto* d = static_cast<const Destination*>(userdata);
    if (d->batch_mode || len == 0) return -1;
    if (d->ask) {
        const auto answer = d->ask(std::string(prompt) + " ", false);
        if (!answer || answer->size() + 1 > len) return -1;
        answer->copy(buf, answer->size());
        buf[answer->size()] = '\0';
        return 0;
    }
    UniqueFd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC));
    if (!tty) return -1;
    std::string p = std::string(prompt) + " ";
    (void)!::write(tty.get(), p.data(), p.size());
    struct termios old {};
    bool restore = ::tcgetattr(tty.get(), &old) == 0;
    if (restore) {
        struct termios quiet = old;
        quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
        ::tcsetattr(tty.get(), TCSAFLUSH, &quiet);
    }
    size_t n = 0;
    char ch = 0;
    while (n + 1 < len && ::read(tty.get(), &ch, 1) == 1 && ch != '\n') buf[n++] = ch;
    buf[n] = '\0';
    if (restore) ::tcsetattr(tty.get(), TCSAFLUSH, &old);
    (void)!::write(tty.get(), "\n", 1);
    return 0;
}

// CertificateFile, and IDENTITY-cert.pub as ssh loads it: a certificate
// for this identity's key (checked against IDENTITY.pub before anything is
// asked) is offered first; once the server accepts it, the private key signs
// with the certificate attached (ssh_pki_copy_cert_to_privkey).
bool try_certificates(const Destination& d, ssh_session session, const std::string& path, bool& key_unreadable)
{
    std::vector<std::string> certs = d.config.certificate_files;
    certs.push_back(path + "-cert.pub");
    for (const auto& cert_path : certs) {
        ssh_key raw = nullptr;
        const std::string& file = file_path(d, cert_path);
        if (::access(file.c_str(), R_OK) != 0) continue;
        if (ssh_pki_import_cert_file(file.c_str(), &raw) != SSH_OK) {
            LOG_DEBUG("certificate %s: not a certificate libssh reads", cert_path.c_str());
            continue;
        }
        KeyPtr cert(raw);
        ssh_key pub_raw = nullptr;
        if (ssh_pki_import_pubkey_file(file_path(d, path + ".pub").c_str(), &pub_raw) != SSH_OK) return false;
        KeyPtr pub(pub_raw);
        if (ssh_pki_copy_cert_to_privkey(cert.get(), pub.get()) != SSH_OK) {
            LOG_DEBUG("certificate %s is not for %s", cert_path.c_str(), path.c_str());
            continue;
        }
        if (ssh_userauth_try_publickey(session, nullptr, cert.get()) != SSH_AUTH_SUCCESS) {
            LOG_DEBUG("server refused certificate %s", cert_path.c_str());
            continue;
        }
        ssh_key priv_raw = nullptr;
        if (ssh_pki_import_privkey_file(file_path(d, path).c_str(), nullptr, passphrase_prompt,
                                        const_cast<Destination*>(&d), &priv_raw) != SSH_OK) {
            LOG_ERROR("Load key \"%s\": incorrect passphrase supplied to decrypt private key, or unreadable key",
                      path.c_str());
            key_unreadable = true;
            return false;
        }
        KeyPtr priv(priv_raw);
        if (ssh_pki_copy_cert_to_privkey(cert.get(), priv.get()) == SSH_OK &&
            ssh_userauth_publickey(session, nullptr, priv.get()) == SSH_AUTH_SUCCESS) {
            LOG_DEBUG("authenticated with certificate %s", cert_path.c_str());
            return true;
        }
    }
    return false;
}

// A connection to the agent, as authentication reaches it: through the
// root part (started by root without sudo), IdentityAgent, or
// SSH_AUTH_SOCK; -1 when there is none.
int connect_agent(const Destination& d)
{
    if (d.agent_socket) return d.agent_socket();
    const auto& c = d.config;
    std::string path;
    if (c.identity_agent && *c.identity_agent != "SSH_AUTH_SOCK") path = *c.identity_agent;
    else if (const char* env = ::getenv("SSH_AUTH_SOCK")) path = env;
    if (path.empty() || path == "none") return -1;
    UniqueFd fd = agent_wire::connect_to_agent(path, "AddKeysToAgent");
    return fd ? fd.release() : -1;
}

// AddKeysToAgent, as ssh's maybe_add_key_to_agent: after the key from
// `path` authenticated; "ask" asks on the terminal (never in batch mode).
// A failure is logged and changes nothing.
void add_key_to_agent(const Destination& d, ssh_key key, const std::string& path)
{
    const auto& c = d.config;
    const std::string mode = c.add_keys_to_agent.value_or("no");
    if (mode == "no") return;
    if (mode == "ask" && (d.batch_mode || !ask_yes_no(d, "Add key " + path + " to the agent (yes/no)? "))) return;
    UniqueFd agent(connect_agent(d));
    if (!agent) {
        LOG_DEBUG("AddKeysToAgent: no agent to add %s to", path.c_str());
        return;
    }
    std::string error;
    try {
        const std::string msg =
            agent_add_identity_message(key, path, c.add_keys_to_agent_lifetime.value_or(0), mode == "confirm");
        if (agent_request(agent.get(), msg, error)) {
            LOG_DEBUG("AddKeysToAgent: added %s to the agent", path.c_str());
            return;
        }
    } catch (const std::exception& e) {
        error = e.what();
    }
    LOG_ERROR("Could not add identity %s to the agent: %s", path.c_str(), error.c_str());
}

bool try_identity_file(const Destination& d, ssh_session session, const std::string& path, bool& key_unreadable)
{
    const std::string& file = file_path(d, path);
    if (::access(file.c_str(), R_OK) != 0) {
        LOG_DEBUG("identity file %s not accessible", path.c_str());
        return false;
    }
    if (try_certificates(d, session, path, key_unreadable)) return true;
    // Offer the public key first so that a passphrase is asked only for a
    // key the server would accept.
    ssh_key pub_raw = nullptr;
    if (ssh_pki_import_pubkey_file(file_path(d, path + ".pub").c_str(), &pub_raw) == SSH_OK) {
        KeyPtr pub(pub_raw);
        if (ssh_userauth_try_publickey(session, nullptr, pub.get()) != SSH_AUTH_SUCCESS) {
            LOG_DEBUG("server refused key %s", path.c_str());
            return false;
        }
    }
    ssh_key priv_raw = nullptr;
    if (ssh_pki_import_privkey_file(file.c_str(), nullptr, passphrase_prompt, const_cast<Destination*>(&d),
                                    &priv_raw) != SSH_OK) {
        LOG_ERROR("Load key \"%s\": incorrect passphrase supplied to decrypt private key, or unreadable key",
                  path.c_str());
        key_unreadable = true;
        return false;
    }
    KeyPtr priv(priv_raw);
    if (ssh_userauth_publickey(session, nullptr, priv.get()) != SSH_AUTH_SUCCESS) return false;
    add_key_to_agent(d, priv.get(), path);
    return true;
}

void authenticate(const Destination& d, ssh_session session)
{
    const auto& c = d.config;
    int rc = ssh_userauth_none(session, nullptr);
    if (rc == SSH_AUTH_SUCCESS) return;
    if (rc == SSH_AUTH_ERROR)
        throw ConnectError(Kind::Network, std::string("authentication failed: ") + ssh_get_error(session));

    const std::string denied = *c.user + "@" + *c.host_name + ": Permission denied (publickey).";
    if (d.keys_with_root_part) {
        // Root's identity files and root's agent, both through the root
        // part's agent, which says itself why a key could not be used.
        rc = ssh_userauth_agent(session, nullptr);
        if (rc == SSH_AUTH_SUCCESS) {
            LOG_DEBUG("authenticated with a key the root part holds");
            return;
        }
        if (rc == SSH_AUTH_ERROR) LOG_DEBUG("agent: %s", ssh_get_error(session));
        throw ConnectError(Kind::Auth, denied);
    }
    const bool agent_allowed = !*c.identities_only && (!c.identity_agent || *c.identity_agent != "none");
    if (agent_allowed && (::getenv("SSH_AUTH_SOCK") != nullptr || c.identity_agent)) {
        rc = ssh_userauth_agent(session, nullptr);
        if (rc == SSH_AUTH_SUCCESS) {
            LOG_DEBUG("authenticated with a key from the agent");
            return;
        }
        if (rc == SSH_AUTH_ERROR) LOG_DEBUG("agent: %s", ssh_get_error(session));
    }
    bool key_unreadable = false; // a key the server would take could not be loaded
    for (const auto& path : c.identity_files) {
        if (try_identity_file(d, session, path, key_unreadable)) {
            LOG_DEBUG("authenticated with %s", path.c_str());
            return;
        }
    }
    if (key_unreadable) throw ConnectError(Kind::Passphrase, denied + " (a key's passphrase was wrong or could not be asked for)");
    throw ConnectError(Kind::Auth, denied);
}

// The ssh_config keywords that become libssh options (separate from the
// connect path): algorithm lists (libssh applies +, -, ^ to its defaults
// and refuses names it lacks: an error naming the keyword), the global
// known_hosts file, the name host keys are looked up under.
void apply_config_options(const Destination& d, ssh_session s)
{
    const auto& c = d.config;
    auto set_list = [s](ssh_options_e option, const std::optional<std::string>& list, const char* keyword) {
        if (!list) return;
        if (ssh_options_set(s, option, list->c_str()) != SSH_OK)
            throw ConnectError(Kind::Config, std::string(keyword) + " '" + *list + "': " + ssh_get_error(s));
    };
    set_list(SSH_OPTIONS_HOSTKEYS, c.host_key_algorithms, "HostKeyAlgorithms");
    // libssh's default list offers no certificate: with a CA for the host
    // (and no HostKeyAlgorithms), certificates first, as ssh's default.
    if (!c.host_key_algorithms && certificate_authority(known_hosts_files(d), known_hosts_name(d), nullptr)) {
        LOG_DEBUG("a @cert-authority line names %s: host certificates are offered first", known_hosts_name(d).c_str());
        set_list(SSH_OPTIONS_HOSTKEYS, std::string(kCertificateFirstHostKeyAlgorithms), "HostKeyAlgorithms");
    }
    set_list(SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES, c.pubkey_accepted_algorithms, "PubkeyAcceptedAlgorithms");
    set_list(SSH_OPTIONS_HMAC_C_S, c.macs, "MACs");
    set_list(SSH_OPTIONS_HMAC_S_C, c.macs, "MACs");
    // libssh reads one global file: the first of the list that exists
    // (the others are said at debug level); none: /dev/null.
    std::string global = "/dev/null";
    for (const auto& f : c.global_known_hosts_files.value_or(std::vector<std::string>{})) {
        if (::access(f.c_str(), R_OK) == 0) {
            global = f;
            break;
        }
    }
    if (c.global_known_hosts_files && c.global_known_hosts_files->size() > 1)
        LOG_DEBUG("GlobalKnownHostsFile: reading %s only", global.c_str());
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, global.c_str());
    if (c.bind_address) ssh_options_set(s, SSH_OPTIONS_BINDADDR, c.bind_address->c_str());
    // HostKeyAlias: libssh names the host in known_hosts after its HOST
    // and PORT options, used for nothing else on a socket we connected:
    // the alias, without a port, as ssh looks it up.
    if (c.host_key_alias) {
        unsigned port = 22;
        ssh_options_set(s, SSH_OPTIONS_HOST, c.host_key_alias->c_str());
        ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    }
}

} // namespace

SessionPtr connect_session(const Destination& d)
{
    const auto& c = d.config;
    UniqueFd fd = uses_proxy(c) ? start_proxy(d) : tcp_connect_attempts(d);
    SessionPtr session(ssh_new());
    if (!session) throw ConnectError(Kind::Network, "ssh_new failed");
    ssh_session s = session.get();
    refuse_server_requests(s);
    bool no = false;
    long timeout = *c.connect_timeout > 0 ? static_cast<long>(*c.connect_timeout) : 30;
    unsigned port = *c.port;
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no); // we read ssh_config ourselves
    ssh_options_set(s, SSH_OPTIONS_HOST, c.host_name->c_str());
    ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s, SSH_OPTIONS_USER, c.user->c_str());
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    const auto& kh = *c.user_known_hosts_files;
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, kh.empty() ? "/dev/null" : file_path(d, kh.front()).c_str());
    if (d.agent_socket) {
        if (int afd = d.agent_socket(); afd >= 0 && ssh_set_agent_socket(s, afd) != SSH_OK) ::close(afd);
    }
    if (c.identity_agent && *c.identity_agent != "none" && *c.identity_agent != "SSH_AUTH_SOCK")
        ssh_options_set(s, SSH_OPTIONS_IDENTITY_AGENT, c.identity_agent->c_str());
    // The effective lists (resolve_defaults): names libssh implements, in
    // OpenSSH's order, offered as given.
    auto set_list = [s](ssh_options_e option, const std::string& list, const char* keyword) {
        if (ssh_options_set(s, option, list.c_str()) != SSH_OK)
            throw ConnectError(Kind::Config, std::string("Bad SSH2 ") + keyword + " '" + list + "': " + ssh_get_error(s));
    };
    set_list(SSH_OPTIONS_CIPHERS_C_S, *c.ciphers, "Ciphers");
    set_list(SSH_OPTIONS_CIPHERS_S_C, *c.ciphers, "Ciphers");
    set_list(SSH_OPTIONS_KEY_EXCHANGE, *c.kex_algorithms, "KexAlgorithms");
    LOG_DEBUG2("KEX algorithms offered: %s", c.kex_algorithms->c_str());
    if (c.rekey_limit && *c.rekey_limit > 0) {
        std::uint64_t bytes = *c.rekey_limit;
        ssh_options_set(s, SSH_OPTIONS_REKEY_DATA, &bytes);
    }
    apply_config_options(d, s);
    socket_t raw_fd = fd.get();
    if (ssh_options_set(s, SSH_OPTIONS_FD, &raw_fd) != SSH_OK)
        throw ConnectError(Kind::Network, std::string("ssh options: ") + ssh_get_error(s));
    fd.release(); // libssh owns and closes it now

    if (ssh_connect(s) != SSH_OK)
        throw ConnectError(Kind::Network, "ssh connection to " + endpoint(d) + " failed: " + ssh_get_error(s) +
                                               proxy_note(proxy_failure()));
    log_negotiated_algorithms(s);
    verify_host_key(d, s);
    authenticate(d, s);
    return session;
}

} // namespace feth::client

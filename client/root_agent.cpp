// The root part's agent (root_agent.hpp).
#include "root_agent.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "agent_add.hpp"
#include "agent_wire.hpp"
#include "host_cert.hpp"
#include "ssh_wire.hpp"
#include "peer_uid.hpp"
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/secret.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::client {
namespace {

// The agent protocol's numbers and framing: agent_wire.hpp.
using agent_wire::kExtension;
using agent_wire::kFailure;
using agent_wire::kIdentitiesAnswer;
using agent_wire::kMaxMessage;
using agent_wire::kRequestIdentities;
using agent_wire::kRsaSha2_256;
using agent_wire::kRsaSha2_512;
using agent_wire::kSignRequest;
using agent_wire::kSignResponse;
using agent_wire::kSuccess;
using ssh_wire::put_string;
using ssh_wire::put_u32;
using ssh_wire::Reader;
using ssh_wire::Truncated;
constexpr std::uint8_t kUserauthRequest = 50;   // SSH_MSG_USERAUTH_REQUEST (RFC 4252)

constexpr std::size_t kMaxSessionId = 64;       // SHA-512, the longest exchange hash
constexpr std::size_t kMaxConnections = 8;      // open at once
constexpr std::size_t kMaxIdentities = 100;     // answered from root's own agent

// A name from the request, safe for a log line.
std::string shown(std::string_view s)
{
    std::string out;
    for (unsigned char c : s.substr(0, 64)) out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
    return s.size() > 64 ? out + "..." : out;
}

// The signature algorithm for a key of blob type `type` with `flags`, and
// the algorithm a user-authentication request names for it (RFC 8332,
// PROTOCOL.certkeys); "" when there is none (ssh-rsa with SHA-1).
struct Algorithms {
    std::string signature;
    std::string userauth;
};

Algorithms algorithms_for(std::string_view type, std::uint32_t flags)
{
    const bool cert = is_certificate_type(type);
    const std::string_view plain = cert ? type.substr(0, type.size() - kCertificateSuffix.size()) : type;
    std::string signature(plain);
    if (plain == "ssh-rsa") {
        if ((flags & kRsaSha2_256) != 0) signature = "rsa-sha2-256";
        else if ((flags & kRsaSha2_512) != 0) signature = "rsa-sha2-512";
        else return {};
    }
    return {signature, cert ? signature + std::string(kCertificateSuffix) : signature};
}

std::string blob_type(std::string_view blob)
{
    try {
        Reader r(blob);
        return std::string(r.string());
    } catch (const Truncated&) {
        return {};
    }
}

std::string userauth_problem(Reader& r, const SignRules& rules, std::string& signature_algorithm)
{
    const std::string_view session_id = r.string();
    if (session_id.empty() || session_id.size() > kMaxSessionId)
        return "a session id of " + std::to_string(session_id.size()) + " bytes";
    if (rules.bound_session_id && session_id != *rules.bound_session_id)
        return "a session id other than the one session-bind@openssh.com bound this connection to";
    if (const std::uint8_t type = r.byte(); type != kUserauthRequest)
        return "not a user-authentication request (message " + std::to_string(type) + ", not 50)";
    const std::string_view user = r.string();
    if (rules.users == nullptr || std::find(rules.users->begin(), rules.users->end(), user) == rules.users->end())
        return "for user '" + shown(user) + "', not the configured remote user";
    if (const std::string_view service = r.string(); service != "ssh-connection")
        return "for service '" + shown(service) + "'";
    const std::string_view method = r.string();
    const bool hostbound = method == "publickey-hostbound-v00@openssh.com";
    if (method != "publickey" && !hostbound) return "for method '" + shown(method) + "'";
    if (r.byte() != 1) return "a request without a signature (FALSE)";
    const std::string_view algorithm = r.string();
    if (r.string() != rules.key_blob) return "for another key than the one it asks to sign with";
    const Algorithms want = algorithms_for(blob_type(rules.key_blob), rules.flags);
    if (want.signature.empty()) return "an ssh-rsa (SHA-1) signature, which feth-ssh does not make";
    if (algorithm != want.userauth)
        return "algorithm '" + shown(algorithm) + "' where the key and flags say '" + want.userauth + "'";
    if (hostbound) {
        const std::string_view host_key = r.string();
        if (rules.bound_host_key && host_key != *rules.bound_host_key)
            return "a host key other than the one session-bind@openssh.com bound this connection to";
    }
    if (r.left() != 0) return std::to_string(r.left()) + " bytes after the request";
    signature_algorithm = want.signature;
    return "";
}

std::string key_blob_of(ssh_key key)
{
    ssh_string raw = nullptr;
    if (ssh_pki_export_pubkey_blob(key, &raw) != SSH_OK || raw == nullptr) return {};
    std::string blob(static_cast<const char*>(ssh_string_data(raw)), ssh_string_len(raw));
    ssh_string_free(raw);
    return blob;
}

KeyPtr import_public(const std::string& file)
{
    ssh_key k = nullptr;
    if (::access(file.c_str(), R_OK) != 0 || ssh_pki_import_pubkey_file(file.c_str(), &k) != SSH_OK) return nullptr;
    return KeyPtr(k);
}

// Root's own agent, asked one request at a time on a fresh connection.
std::optional<std::string> ask_real_agent(const std::string& path, const std::string& request)
{
    const UniqueFd fd = agent_wire::connect_to_agent(path, "root part");
    if (!fd) return std::nullopt;
    std::string framed;
    put_string(framed, request);
    std::string error;
    auto answer = agent_wire::exchange(fd.get(), framed, error);
    if (!answer) LOG_DEBUG("root part: agent %s: %s", path.c_str(), error.c_str());
    return answer;
}

} // namespace

std::string userauth_request_problem(std::string_view data, const SignRules& rules, std::string& signature_algorithm)
{
    try {
        Reader r(data);
        return userauth_problem(r, rules, signature_algorithm);
    } catch (const Truncated&) {
        return "a truncated user-authentication request";
    }
}

struct RootAgent::Impl {
    // One key file, its private half read when a signature first needs it.
    struct KeyFile {
        std::string path;
        KeyPtr priv;
        bool unusable = false;  // its private half could not be read: not asked again
        bool added = false;     // AddKeysToAgent done
    };
    // One identity offered: a key's public blob, or a certificate for it.
    struct Identity {
        std::string blob;
        std::size_t key = 0; // index in keys
    };
    struct Connection {
        UniqueFd fd;
        std::string in;
        std::string name; // "the SSH part" / "a proxy (uid N)"
        std::optional<std::string> session_id;
        std::optional<std::string> host_key;
    };

    AgentSetup setup;
    AskUser ask;
    std::vector<KeyFile> keys;
    std::vector<Identity> identities;
    std::vector<std::unique_ptr<Connection>> connections;
    UniqueFd bridge;
    std::string bridge_path;
    uid_t bridge_owner = 0;

    void load_identities()
    {
        for (const auto& path : setup.identity_files) {
            if (::access(path.c_str(), F_OK) != 0) {
                LOG_DEBUG("root part: identity file %s: %s", path.c_str(), errno_text(errno).c_str());
                continue;
            }
            KeyPtr pub = import_public(path + ".pub");
            if (!pub) pub = import_public(path); // OpenSSH's format carries the public key unencrypted
            if (!pub) {
                LOG_ERROR("Load key \"%s\": no public key readable from it or from %s.pub (a PEM key with a "
                          "passphrase needs its .pub): not offered",
                          path.c_str(), path.c_str());
                continue;
            }
            const std::size_t index = keys.size();
            keys.push_back({path, nullptr, false, false});
            add_certificates(path, index);
            add_identity(key_blob_of(pub.get()), index);
        }
        LOG_DEBUG("root part: the agent holds %zu identities of %zu key files", identities.size(), keys.size());
    }

    // CertificateFile, and IDENTITY-cert.pub, as ssh loads them: offered
    // before the key when they are for it.
    void add_certificates(const std::string& path, std::size_t index)
    {
        std::vector<std::string> certs = setup.certificate_files;
        certs.push_back(path + "-cert.pub");
        for (const auto& file : certs) {
            ssh_key raw = nullptr;
            if (::access(file.c_str(), R_OK) != 0 || ssh_pki_import_cert_file(file.c_str(), &raw) != SSH_OK) continue;
            KeyPtr cert(raw);
            KeyPtr pub = import_public(path + ".pub");
            if (!pub) pub = import_public(path);
            if (!pub || ssh_pki_copy_cert_to_privkey(cert.get(), pub.get()) != SSH_OK) continue;
            add_identity(key_blob_of(cert.get()), index);
        }
    }

    void add_identity(std::string blob, std::size_t index)
    {
        if (blob.empty()) return;
        for (const auto& i : identities)
            if (i.blob == blob) return;
        identities.push_back({std::move(blob), index});
    }

    const Identity* find_identity(std::string_view blob) const
    {
        for (const auto& i : identities)
            if (i.blob == blob) return &i;
        return nullptr;
    }

    // The private half of `k`, read (and its passphrase asked) once.
    ssh_key private_key(KeyFile& k)
    {
        if (k.priv || k.unusable) return k.priv.get();
        ssh_key raw = nullptr;
        if (ssh_pki_import_privkey_file(k.path.c_str(), nullptr, nullptr, nullptr, &raw) == SSH_OK) {
            k.priv.reset(raw);
            return raw;
        }
        k.unusable = true;
        if (setup.batch) {
            LOG_ERROR("Load key \"%s\": it needs a passphrase, which BatchMode does not ask for", k.path.c_str());
            return nullptr;
        }
        auto passphrase = ask ? ask("Enter passphrase for key '" + k.path + "': ", false) : std::nullopt;
        if (!passphrase) {
            LOG_ERROR("Load key \"%s\": no passphrase given", k.path.c_str());
            return nullptr;
        }
        const int rc = ssh_pki_import_privkey_file(k.path.c_str(), passphrase->c_str(), nullptr, nullptr, &raw);
        burn(passphrase->data(), passphrase->capacity());
        if (rc != SSH_OK) {
            LOG_ERROR("Load key \"%s\": incorrect passphrase supplied to decrypt private key, or unreadable key",
                      k.path.c_str());
            return nullptr;
        }
        k.unusable = false;
        k.priv.reset(raw);
        return raw;
    }

    // ---- requests ----

    std::string failure() const { return std::string(1, static_cast<char>(kFailure)); }

    std::string identities_answer()
    {
        std::vector<std::pair<std::string, std::string>> list; // blob, comment
        if (setup.real_agent_keys && !setup.real_agent.empty()) {
            if (auto a = ask_real_agent(setup.real_agent, std::string(1, static_cast<char>(kRequestIdentities)))) {
                try {
                    Reader r(*a);
                    if (r.byte() == kIdentitiesAnswer) {
                        const std::uint32_t n = r.u32();
                        for (std::uint32_t i = 0; i < n && i < kMaxIdentities; ++i) {
                            std::string blob(r.string());
                            std::string comment(r.string());
                            list.emplace_back(std::move(blob), std::move(comment));
                        }
                    }
                } catch (const Truncated&) {
                    LOG_ERROR("root part: root's agent %s sent a truncated list of keys", setup.real_agent.c_str());
                }
            }
        }
        for (const auto& i : identities) {
            bool listed = false;
            for (const auto& [blob, comment] : list) listed = listed || blob == i.blob;
            if (!listed) list.emplace_back(i.blob, keys[i.key].path);
        }
        std::string out(1, static_cast<char>(kIdentitiesAnswer));
        put_u32(out, static_cast<std::uint32_t>(list.size()));
        for (const auto& [blob, comment] : list) {
            put_string(out, blob);
            put_string(out, comment);
        }
        return out;
    }

    std::string sign(Connection& c, std::string_view request, Reader& r)
    {
        const std::string_view blob = r.string();
        const std::string_view data = r.string();
        const std::uint32_t flags = r.u32();
        if (r.left() != 0) throw Truncated();
        const Identity* own = find_identity(blob);
        const bool forward = own == nullptr && setup.real_agent_keys && !setup.real_agent.empty();
        const std::string key_name = own != nullptr ? keys[own->key].path : "root's agent's " + shown(blob_type(blob)) + " key";
        if (own == nullptr && !forward) {
            LOG_ERROR("root part: refused to sign for %s: a %s key it does not hold", c.name.c_str(),
                      shown(blob_type(blob)).c_str());
            return failure();
        }
        SignRules rules{blob, flags, &setup.users, c.session_id, c.host_key};
        std::string algorithm;
        if (const std::string why = userauth_request_problem(data, rules, algorithm); !why.empty()) {
            LOG_ERROR("root part: refused to sign with %s for %s: %s", key_name.c_str(), c.name.c_str(), why.c_str());
            return failure();
        }
        if (forward) {
            auto a = ask_real_agent(setup.real_agent, std::string(request));
            return a ? *a : failure();
        }
        KeyFile& k = keys[own->key];
        ssh_key priv = private_key(k);
        if (priv == nullptr) return failure();
        ssh_string sig = nullptr;
        if (ssh_pki_sign_data_blob(priv, algorithm.c_str(), reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size(), &sig) != SSH_OK || sig == nullptr) {
            LOG_ERROR("root part: signing with %s (%s) failed", k.path.c_str(), algorithm.c_str());
            return failure();
        }
        std::string out(1, static_cast<char>(kSignResponse));
        put_string(out, std::string_view(static_cast<const char*>(ssh_string_data(sig)), ssh_string_len(sig)));
        ssh_string_free(sig);
        LOG_DEBUG("root part: signed a user-authentication request with %s (%s) for %s", k.path.c_str(),
                  algorithm.c_str(), c.name.c_str());
        add_to_real_agent(k);
        return out;
    }

    // AddKeysToAgent, as ssh's maybe_add_key_to_agent, once per key, after
    // its first signature for a login.
    void add_to_real_agent(KeyFile& k)
    {
        const std::string& mode = setup.add_keys_to_agent;
        if (k.added || mode.empty() || mode == "no" || setup.real_agent.empty()) return;
        k.added = true;
        if (mode == "ask") {
            auto a = setup.batch || !ask ? std::nullopt : ask("Add key " + k.path + " to the agent (yes/no)? ", true);
            if (!a || *a != "yes") return;
        }
        try {
            const std::string framed =
                agent_add_identity_message(k.priv.get(), k.path, setup.add_keys_lifetime, mode == "confirm");
            auto a = ask_real_agent(setup.real_agent, framed.substr(4));
            if (a && !a->empty() && static_cast<std::uint8_t>((*a)[0]) == kSuccess)
                LOG_DEBUG("AddKeysToAgent: added %s to the agent", k.path.c_str());
            else
                LOG_ERROR("Could not add identity %s to the agent %s", k.path.c_str(), setup.real_agent.c_str());
        } catch (const std::exception& e) {
            LOG_ERROR("Could not add identity %s to the agent: %s", k.path.c_str(), e.what());
        }
    }

    // session-bind@openssh.com: string host key, string session id, string
    // the host key's signature of the session id, bool forwarding. Bound
    // once; forwarded sessions are not (feth-ssh forwards no agent).
    std::string session_bind(Connection& c, Reader& r)
    {
        const std::string_view host_key = r.string();
        const std::string_view session_id = r.string();
        const std::string_view signature = r.string();
        const std::uint8_t forwarding = r.byte();
        if (r.left() != 0) throw Truncated();
        std::string why = c.session_id             ? "a second session-bind on one connection"
                          : forwarding != 0        ? "a forwarded agent (feth-ssh forwards none)"
                          : session_id.empty() || session_id.size() > kMaxSessionId
                              ? "a session id of " + std::to_string(session_id.size()) + " bytes"
                              : signature_problem(host_key, signature, session_id);
        if (!why.empty()) {
            LOG_ERROR("root part: refused session-bind@openssh.com from %s: %s", c.name.c_str(), why.c_str());
            return failure();
        }
        c.session_id = std::string(session_id);
        c.host_key = std::string(host_key);
        return std::string(1, static_cast<char>(kSuccess));
    }

    // Whether `signature` is `host_key`'s signature of `data` ("" if so).
    static std::string signature_problem(std::string_view host_key, std::string_view signature, std::string_view data)
    {
        auto to_ssh_string = [](std::string_view v) {
            ssh_string s = ssh_string_new(v.size());
            if (s != nullptr) ssh_string_fill(s, v.data(), v.size());
            return s;
        };
        ssh_string blob = to_ssh_string(host_key);
        ssh_key raw = nullptr;
        const int imported = blob != nullptr ? ssh_pki_import_pubkey_blob(blob, &raw) : SSH_ERROR;
        ssh_string_free(blob);
        KeyPtr key(raw);
        if (imported != SSH_OK) return "a host key that does not parse";
        ssh_string sig = to_ssh_string(signature);
        const int verified = sig != nullptr ? ssh_pki_verify_data_blob(key.get(), blob_type(signature).c_str(), sig,
                                                                       reinterpret_cast<const unsigned char*>(data.data()),
                                                                       data.size())
                                            : SSH_ERROR;
        ssh_string_free(sig);
        return verified == SSH_OK ? "" : "the host key's signature of the session id does not verify";
    }

    std::string answer(Connection& c, std::string_view request)
    {
        try {
            Reader r(request);
            const std::uint8_t type = r.byte();
            if (type == kRequestIdentities) return identities_answer();
            if (type == kSignRequest) return sign(c, request, r);
            if (type == kExtension && r.string() == "session-bind@openssh.com") return session_bind(c, r);
            LOG_DEBUG("root part: agent request %u from %s not supported", static_cast<unsigned>(type),
                      c.name.c_str());
        } catch (const Truncated&) {
            LOG_ERROR("root part: a malformed agent request from %s (message %u): refused", c.name.c_str(),
                      request.empty() ? 0U : static_cast<unsigned>(static_cast<std::uint8_t>(request[0])));
        }
        return failure();
    }

    // Reads what `c` sent and answers each whole request. False: the
    // connection is done (closed, or broke the protocol).
    bool serve(Connection& c)
    {
        char buf[16384];
        const ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
        if (n <= 0) return false;
        c.in.append(buf, static_cast<std::size_t>(n));
        while (c.in.size() >= 4) {
            const std::uint32_t len = Reader(c.in).u32();
            if (len == 0 || len > kMaxMessage) {
                LOG_ERROR("root part: an agent message of %u bytes from %s: connection closed", len, c.name.c_str());
                return false;
            }
            if (c.in.size() < 4 + static_cast<std::size_t>(len)) break;
            const std::string reply = answer(c, std::string_view(c.in).substr(4, len));
            c.in.erase(0, 4 + static_cast<std::size_t>(len));
            std::string framed;
            put_string(framed, reply);
            // Answers are small: one that does not fit in the socket
            // buffer means a peer that does not read them.
            if (::send(c.fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
                static_cast<ssize_t>(framed.size())) {
                LOG_ERROR("root part: agent connection of %s does not take its answers: closed", c.name.c_str());
                return false;
            }
        }
        return true;
    }

    void accept_bridged()
    {
        UniqueFd fd = accept_socket(bridge.get(), nullptr, nullptr, IoMode::nonblocking);
        if (!fd) return;
        const auto uid = peer_uid(fd.get());
        if (!uid || (*uid != bridge_owner && *uid != 0)) {
            LOG_ERROR("root part: refused an agent connection on %s from uid %ld", bridge_path.c_str(),
                      uid ? static_cast<long>(*uid) : -1L);
            return;
        }
        if (connections.size() >= kMaxConnections) {
            LOG_ERROR("root part: more than %zu agent connections at once: one on %s refused", kMaxConnections,
                      bridge_path.c_str());
            return;
        }
        auto c = std::make_unique<Connection>();
        c->fd = std::move(fd);
        c->name = "a proxy's ssh (uid " + std::to_string(*uid) + ")";
        connections.push_back(std::move(c));
    }

    void close_bridge()
    {
        if (bridge_path.empty()) return;
        bridge.reset();
        // The run directory it is in goes with the run (run_dir.hpp).
        if (::unlink(bridge_path.c_str()) != 0 && errno != ENOENT)
            LOG_ERROR("root part: removing %s: %s", bridge_path.c_str(), errno_text(errno).c_str());
        bridge_path.clear();
    }
};

RootAgent::RootAgent(AgentSetup setup, AskUser ask) : impl_(std::make_unique<Impl>())
{
    impl_->setup = std::move(setup);
    impl_->ask = std::move(ask);
    impl_->load_identities();
}

RootAgent::~RootAgent() { impl_->close_bridge(); }

UniqueFd RootAgent::connect()
{
    if (impl_->connections.size() >= kMaxConnections) {
        LOG_ERROR("root part: more than %zu agent connections at once: the SSH part's request refused",
                  kMaxConnections);
        return UniqueFd();
    }
    UniqueFd ours, theirs;
    if (open_socketpair(AF_UNIX, SOCK_STREAM, IoMode::nonblocking, ours, theirs) != 0) {
        LOG_ERROR("root part: agent socketpair: %s", errno_text(errno).c_str());
        return UniqueFd();
    }
    if (set_io_mode(theirs.get(), IoMode::blocking) != 0) return UniqueFd();
    auto c = std::make_unique<Impl::Connection>();
    c->fd = std::move(ours);
    c->name = "the SSH part";
    impl_->connections.push_back(std::move(c));
    return theirs;
}

std::string RootAgent::open_bridge(uid_t owner, gid_t owner_group, const std::string& dir)
{
    if (dir.empty()) throw SystemError("the agent socket for a proxy: no run directory", "bind", ENOENT);
    const std::string path = dir + "/agent";
    impl_->bridge_path = path;
    impl_->bridge_owner = owner;
    UniqueFd s = open_socket(AF_UNIX, SOCK_STREAM, 0, IoMode::nonblocking);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, path.c_str(), std::min(path.size(), sizeof sun.sun_path - 1));
    if (!s) throw_errno("the agent socket " + path, "socket");
    impl_->bridge = std::move(s);
    if (::bind(impl_->bridge.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0)
        throw_errno("the agent socket " + path, "bind");
    if (::chmod(path.c_str(), 0600) != 0) throw_errno("the agent socket " + path, "chmod");
    if (::chown(path.c_str(), owner, owner_group) != 0) throw_errno("the agent socket " + path, "chown");
    if (::listen(impl_->bridge.get(), 8) != 0) throw_errno("the agent socket " + path, "listen");
    LOG_DEBUG("root part: agent socket for the proxy at %s (uid %ld)", path.c_str(), static_cast<long>(owner));
    return path;
}

void RootAgent::add_poll_fds(std::vector<pollfd>& fds) const
{
    fds.push_back({impl_->bridge ? impl_->bridge.get() : -1, POLLIN, 0});
    for (const auto& c : impl_->connections) fds.push_back({c->fd.get(), POLLIN, 0});
}

void RootAgent::service(const std::vector<pollfd>& fds, std::size_t first)
{
    // The connections polled are the first ones of the list, in order; one
    // accepted now is polled next time.
    const std::size_t polled = std::min(impl_->connections.size(), fds.size() - first - 1);
    std::vector<bool> done(polled, false);
    for (std::size_t i = 0; i < polled; ++i)
        if (fds[first + 1 + i].revents != 0) done[i] = !impl_->serve(*impl_->connections[i]);
    for (std::size_t i = polled; i-- > 0;)
        if (done[i]) impl_->connections.erase(impl_->connections.begin() + static_cast<std::ptrdiff_t>(i));
    if (fds[first].revents != 0 && impl_->bridge) impl_->accept_bridged();
}

} // namespace feth::client

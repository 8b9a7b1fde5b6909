// libssh patch 0005: a server whose libssh holds only public host keys and
// never checks a user's signature. A callback (a privilege separation
// monitor, here the test) signs each exchange hash, and another gets each
// signed publickey request with the raw blobs and decides. These tests run a
// libssh server and client in one process over a socketpair, with the
// "monitor" holding the private host key, and rebuild the data the user
// signed from the session id the sign callback saw.
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "tools/raw_packets.h"
#include "base/fd.hpp"
#include "tunnel/ssh_handles.hpp"

using feth::BindPtr;
using feth::ChannelPtr;
using feth::EventPtr;
using feth::KeyPtr;
using feth::SessionPtr;
using feth::UniqueFd;

namespace {

using Bytes = std::vector<unsigned char>;

// Each step of a key exchange or an authentication is a few packets; each
// round waits at most 20 ms, so this is a failure after 10 s, never a hang.
constexpr int kRounds = 500;
constexpr std::string_view kUser = "alice";
constexpr std::string_view kHostbound = "publickey-hostbound-v00@openssh.com";

struct SshStringFree {
    void operator()(ssh_string s) const noexcept { ssh_string_free(s); }
};
using SshString = std::unique_ptr<ssh_string_struct, SshStringFree>;

struct PkiCtxFree {
    void operator()(ssh_pki_ctx c) const noexcept { ssh_pki_ctx_free(c); }
};

Bytes bytes_of(ssh_string s)
{
    const auto* p = static_cast<const unsigned char*>(ssh_string_data(s));
    return Bytes(p, p + ssh_string_len(s));
}

SshString string_of(const Bytes& b)
{
    SshString s(ssh_string_new(b.size()));
    if (!s || (!b.empty() && ssh_string_fill(s.get(), b.data(), b.size()) != 0))
        throw std::runtime_error("ssh_string_new failed");
    return s;
}

// SSH wire encoding (RFC 4251 section 5).
void put_u32(Bytes& out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}
void put_string(Bytes& out, const Bytes& s)
{
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
}
void put_string(Bytes& out, std::string_view s) { put_string(out, Bytes(s.begin(), s.end())); }

// The first string of a signature blob: the algorithm it names.
std::string blob_algorithm(const Bytes& blob)
{
    if (blob.size() < 4) return {};
    const std::size_t n = (std::size_t{blob[0]} << 24) | (std::size_t{blob[1]} << 16) | (std::size_t{blob[2]} << 8) | blob[3];
    if (blob.size() < 4 + n) return {};
    return std::string(blob.begin() + 4, blob.begin() + 4 + static_cast<std::ptrdiff_t>(n));
}

// The same signature blob naming another algorithm.
Bytes rename_blob(const Bytes& blob, std::string_view algorithm)
{
    const std::size_t old = blob_algorithm(blob).size();
    Bytes out;
    put_string(out, algorithm);
    out.insert(out.end(), blob.begin() + 4 + static_cast<std::ptrdiff_t>(old), blob.end());
    return out;
}

KeyPtr generate_key(ssh_keytypes_e type)
{
    std::unique_ptr<ssh_pki_ctx_struct, PkiCtxFree> ctx(ssh_pki_ctx_new());
    // 2048 bits: RSA key generation is the slow part of these tests.
    const int bits = 2048;
    if (!ctx || (type == SSH_KEYTYPE_RSA && ssh_pki_ctx_options_set(ctx.get(), SSH_PKI_OPTION_RSA_KEY_SIZE, &bits) != SSH_OK))
        throw std::runtime_error("ssh_pki_ctx failed");
    ssh_key key = nullptr;
    if (ssh_pki_generate_key(type, ctx.get(), &key) != SSH_OK) throw std::runtime_error("ssh_pki_generate_key failed");
    return KeyPtr(key);
}

// Keys are made once per type and test run: RSA generation takes a while.
ssh_key cached_key(ssh_keytypes_e type, int which = 0)
{
    static std::vector<std::pair<std::pair<int, int>, KeyPtr>> cache;
    for (auto& [id, key] : cache)
        if (id == std::pair<int, int>{type, which}) return key.get();
    cache.emplace_back(std::pair<int, int>{type, which}, generate_key(type));
    return cache.back().second.get();
}

KeyPtr public_of(ssh_key key)
{
    ssh_key pub = nullptr;
    if (ssh_pki_export_privkey_to_pubkey(key, &pub) != SSH_OK) throw std::runtime_error("export public key failed");
    return KeyPtr(pub);
}

Bytes pubkey_blob(ssh_key key)
{
    ssh_string blob = nullptr;
    if (ssh_pki_export_pubkey_blob(key, &blob) != SSH_OK) throw std::runtime_error("export public key blob failed");
    SshString owned(blob);
    return bytes_of(blob);
}

// Signs with libssh's own signer, as the monitor would.
Bytes sign(ssh_key privkey, std::string_view algorithm, const Bytes& data)
{
    ssh_string blob = nullptr;
    const std::string alg(algorithm);
    if (ssh_pki_sign_data_blob(privkey, alg.c_str(), data.data(), data.size(), &blob) != SSH_OK)
        throw std::runtime_error("ssh_pki_sign_data_blob failed for " + alg);
    SshString owned(blob);
    return bytes_of(blob);
}

int verify(ssh_key pubkey, std::string_view algorithm, const Bytes& blob, const Bytes& data)
{
    const std::string alg(algorithm);
    SshString s = string_of(blob);
    return ssh_pki_verify_data_blob(pubkey, alg.c_str(), s.get(), data.data(), data.size());
}

// What a publickey request with a signature signs (RFC 4252 section 7,
// plus the host key for OpenSSH's hostbound method, PROTOCOL 2.5).
Bytes signed_data(const Bytes& session_id, std::string_view user, std::string_view method, std::string_view algorithm,
                  const Bytes& key_blob, const std::optional<Bytes>& hostkey_blob)
{
    Bytes d;
    put_string(d, session_id);
    d.push_back(50); // SSH_MSG_USERAUTH_REQUEST
    put_string(d, user);
    put_string(d, "ssh-connection");
    put_string(d, method);
    d.push_back(1);
    put_string(d, algorithm);
    put_string(d, key_blob);
    if (hostkey_blob) put_string(d, *hostkey_blob);
    return d;
}

// A directory of its own for the client's known_hosts, removed on every path.
class TempDir {
public:
    TempDir()
    {
        char tmpl[] = "/tmp/feth-delegation.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

struct SignCall {
    Bytes hash;
    std::string algorithm;
    bool hostkey_public = false;
    bool hostkey_matches = false;
};

struct SignedRequest {
    std::string user, service, method, algorithm;
    Bytes key_blob;
    std::optional<Bytes> hostkey_blob;
    Bytes signature;
};

// A request auth_pubkey_unreadable_function saw.
struct UnreadableRequest {
    std::string user, method, algorithm;
    Bytes key_blob;
};

struct PairOptions {
    ssh_key host_key = nullptr;       // the monitor's private host key
    std::string client_hostkeys;      // SSH_OPTIONS_HOSTKEYS; empty: libssh's default
    std::string client_pubkey_types;  // SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES
    std::uint64_t client_rekey_data = 0;
    bool sign_callback = true;        // ssh_server_set_hostkey_sign_callback
    bool signature_callback = true;   // auth_pubkey_signature_function
    bool allow_none = false;          // "none" authentication succeeds
};

// A libssh server whose bind holds only the public half of the host key,
// and a libssh client, over a non-blocking socketpair.
class DelegatedPair {
public:
    explicit DelegatedPair(const PairOptions& opt) : host_key_(opt.host_key)
    {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) throw std::runtime_error("socketpair failed");
        UniqueFd server_fd(fds[0]), client_fd(fds[1]);
        feth::set_nonblocking_cloexec(server_fd.get(), "delegation pair");
        feth::set_nonblocking_cloexec(client_fd.get(), "delegation pair");
        server_poll_fd_ = server_fd.get();
        client_poll_fd_ = client_fd.get();

        bind_.reset(ssh_bind_new());
        server_.reset(ssh_new());
        client_.reset(ssh_new());
        if (!bind_ || !server_ || !client_) throw std::runtime_error("out of memory");
        bool no = false;
        ssh_bind_options_set(bind_.get(), SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
        // The bind gets the public key only; it frees it.
        KeyPtr host_public = public_of(host_key_);
        REQUIRE_FALSE(ssh_key_is_private(host_public.get()));
        REQUIRE(ssh_bind_options_set(bind_.get(), SSH_BIND_OPTIONS_IMPORT_KEY, host_public.get()) == SSH_OK);
        host_public.release();
        REQUIRE(ssh_bind_accept_fd(bind_.get(), server_.get(), server_fd.get()) == SSH_OK);
        server_fd.release(); // the server session owns it now

        if (opt.sign_callback)
            REQUIRE(ssh_server_set_hostkey_sign_callback(server_.get(), &DelegatedPair::on_sign, this) == SSH_OK);
        ssh_callbacks_init(&server_cb_);
        server_cb_.userdata = this;
        if (opt.allow_none) server_cb_.auth_none_function = &DelegatedPair::on_auth_none;
        server_cb_.auth_pubkey_function = &DelegatedPair::on_auth_pubkey;
        if (opt.signature_callback) server_cb_.auth_pubkey_signature_function = &DelegatedPair::on_pubkey_signature;
        server_cb_.auth_pubkey_unreadable_function = &DelegatedPair::on_pubkey_unreadable;
        server_cb_.channel_open_request_session_function = &DelegatedPair::on_session_open;
        ssh_set_server_callbacks(server_.get(), &server_cb_);
        ssh_set_auth_methods(server_.get(), SSH_AUTH_METHOD_PUBLICKEY | (opt.allow_none ? SSH_AUTH_METHOD_NONE : 0));
        ssh_set_blocking(server_.get(), 0);

        // The client trusts exactly the monitor's host key.
        known_hosts_ = dir_.path() / "known_hosts";
        {
            char* b64 = nullptr;
            REQUIRE(ssh_pki_export_pubkey_base64(host_key_, &b64) == SSH_OK);
            feth::SshStringPtr owned(b64);
            std::ofstream out(known_hosts_);
            out << "delegation.invalid " << ssh_key_type_to_char(ssh_key_type(host_key_)) << ' ' << b64 << '\n';
        }
        socket_t cfd = client_fd.get();
        REQUIRE(ssh_options_set(client_.get(), SSH_OPTIONS_FD, &cfd) == SSH_OK);
        client_fd.release();
        ssh_options_set(client_.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
        ssh_options_set(client_.get(), SSH_OPTIONS_HOST, "delegation.invalid");
        ssh_options_set(client_.get(), SSH_OPTIONS_USER, std::string(kUser).c_str());
        ssh_options_set(client_.get(), SSH_OPTIONS_KNOWNHOSTS, known_hosts_.c_str());
        const std::string global = (dir_.path() / "global_known_hosts").string();
        ssh_options_set(client_.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, global.c_str());
        if (!opt.client_hostkeys.empty())
            REQUIRE(ssh_options_set(client_.get(), SSH_OPTIONS_HOSTKEYS, opt.client_hostkeys.c_str()) == SSH_OK);
        if (!opt.client_pubkey_types.empty())
            REQUIRE(ssh_options_set(client_.get(), SSH_OPTIONS_PUBLICKEY_ACCEPTED_TYPES, opt.client_pubkey_types.c_str()) ==
                    SSH_OK);
        if (opt.client_rekey_data != 0)
            REQUIRE(ssh_options_set(client_.get(), SSH_OPTIONS_REKEY_DATA, &opt.client_rekey_data) == SSH_OK);
        ssh_set_blocking(client_.get(), 0);
    }

    ~DelegatedPair()
    {
        // The channel goes before its session.
        server_channel.reset();
        if (server_event_) ssh_event_remove_session(server_event_.get(), server_.get());
    }
    DelegatedPair(const DelegatedPair&) = delete;
    DelegatedPair& operator=(const DelegatedPair&) = delete;

    ssh_session server() const { return server_.get(); }
    ssh_session client() const { return client_.get(); }

    // Both ends step in turn, neither blocks. True once both are done;
    // false as soon as either fails.
    bool key_exchange()
    {
        bool client_done = false, server_done = false;
        for (int i = 0; i < kRounds && !(client_done && server_done); ++i) {
            if (!client_done) {
                const int rc = ssh_connect(client_.get());
                if (rc == SSH_ERROR) return false;
                client_done = rc == SSH_OK;
            }
            if (!server_done) {
                const int rc = ssh_handle_key_exchange(server_.get());
                if (rc == SSH_ERROR) return false;
                server_done = rc == SSH_OK;
            }
            if (!(client_done && server_done)) wait_readable();
        }
        if (!(client_done && server_done)) return false;
        // From here the server runs in its event, as feth-sshd's does.
        server_event_.reset(ssh_event_new());
        REQUIRE(server_event_);
        REQUIRE(ssh_event_add_session(server_event_.get(), server_.get()) == SSH_OK);
        return true;
    }

    // Runs a non-blocking client call until it stops asking to be called
    // again (`again`), letting the server work in between.
    template <class Call>
    int drive(Call call, int again)
    {
        int rc = again;
        for (int i = 0; i < kRounds; ++i) {
            rc = call();
            if (rc != again) return rc;
            wait_readable();
            ssh_event_dopoll(server_event_.get(), 0);
        }
        return rc;
    }
    int auth(const std::function<int()>& call) { return drive(call, SSH_AUTH_AGAIN); }

    // Lets both ends work (the client outside any API call) until `done`.
    bool run_until(const std::function<bool()>& done, int rounds = kRounds)
    {
        for (int i = 0; i < rounds && !done(); ++i) {
            wait_readable();
            ssh_event_dopoll(server_event_.get(), 0);
            if (raw_process(client_.get(), 0) != SSH_OK) return false;
        }
        return done();
    }

    // A hand-made user authentication request; the client's view of the
    // answer (RAW_AUTH_NONE if none came within `rounds`).
    raw_auth_result send_auth_request(const Bytes& payload, int rounds = kRounds)
    {
        raw_auth_reset(client_.get());
        REQUIRE(raw_send_message(client_.get(), payload.data(), payload.size()) == SSH_OK);
        run_until([&] { return raw_auth_answer(client_.get()) != RAW_AUTH_NONE; }, rounds);
        return raw_auth_answer(client_.get());
    }

    Bytes client_session_id() const { return session_id_of(client_.get()); }
    Bytes server_session_id() const { return session_id_of(server_.get()); }

    std::vector<SignCall> sign_calls;
    bool fail_sign = false;
    std::vector<SignedRequest> signed_requests;
    int signature_result = SSH_AUTH_DENIED;
    std::vector<ssh_publickey_state_e> pubkey_states; // auth_pubkey_function calls
    std::vector<UnreadableRequest> unreadable_requests;
    ChannelPtr server_channel;

private:
    static Bytes session_id_of(ssh_session s)
    {
        Bytes id(64);
        id.resize(raw_session_id(s, id.data(), id.size()));
        return id;
    }

    void wait_readable() const
    {
        pollfd p[2] = {{server_poll_fd_, POLLIN, 0}, {client_poll_fd_, POLLIN, 0}};
        ::poll(p, 2, 20);
    }

    static ssh_string on_sign(ssh_session, ssh_key hostkey, const char* algorithm, const unsigned char* hash,
                              std::size_t hash_len, void* userdata)
    {
        auto* self = static_cast<DelegatedPair*>(userdata);
        self->sign_calls.push_back({Bytes(hash, hash + hash_len), algorithm, !ssh_key_is_private(hostkey),
                                    ssh_key_cmp(hostkey, self->host_key_, SSH_KEY_CMP_PUBLIC) == 0});
        if (self->fail_sign) return nullptr;
        ssh_string blob = nullptr;
        if (ssh_pki_sign_data_blob(self->host_key_, algorithm, hash, hash_len, &blob) != SSH_OK) return nullptr;
        return blob;
    }

    static int on_auth_none(ssh_session, const char*, void*) { return SSH_AUTH_SUCCESS; }

    static int on_auth_pubkey(ssh_session, const char*, ssh_key, char state, void* userdata)
    {
        auto* self = static_cast<DelegatedPair*>(userdata);
        self->pubkey_states.push_back(static_cast<ssh_publickey_state_e>(state));
        // A query is answered "this key would do"; a verified signature
        // (stock libssh, without the signature callback) logs in.
        return state == SSH_PUBLICKEY_STATE_NONE || state == SSH_PUBLICKEY_STATE_VALID ? SSH_AUTH_SUCCESS
                                                                                       : SSH_AUTH_DENIED;
    }

    static int on_pubkey_signature(ssh_session, const char* user, const char* service, const char* method,
                                   const char* algorithm, ssh_string key_blob, ssh_string hostkey_blob,
                                   ssh_string signature, void* userdata)
    {
        auto* self = static_cast<DelegatedPair*>(userdata);
        SignedRequest r{user, service, method, algorithm, bytes_of(key_blob), std::nullopt, bytes_of(signature)};
        if (hostkey_blob != nullptr) r.hostkey_blob = bytes_of(hostkey_blob);
        self->signed_requests.push_back(std::move(r));
        return self->signature_result;
    }

    static void on_pubkey_unreadable(ssh_session, const char* user, const char* method, const char* algorithm,
                                     ssh_string key_blob, void* userdata)
    {
        auto* self = static_cast<DelegatedPair*>(userdata);
        self->unreadable_requests.push_back({user, method, algorithm, bytes_of(key_blob)});
    }

    static ssh_channel on_session_open(ssh_session session, void* userdata)
    {
        auto* self = static_cast<DelegatedPair*>(userdata);
        self->server_channel.reset(ssh_channel_new(session));
        return self->server_channel.get();
    }

    ssh_key host_key_;
    TempDir dir_;
    std::filesystem::path known_hosts_;
    int server_poll_fd_ = -1;
    int client_poll_fd_ = -1;
    BindPtr bind_;
    SessionPtr server_;
    SessionPtr client_;
    ssh_server_callbacks_struct server_cb_{};
    EventPtr server_event_;
};

struct HostKeyCase {
    const char* name;
    ssh_keytypes_e type;
    const char* client_hostkeys; // "" for libssh's default order
    const char* algorithm;       // what the key exchange must negotiate
};

const HostKeyCase kHostKeyCases[] = {
    {"ed25519", SSH_KEYTYPE_ED25519, "", "ssh-ed25519"},
    {"ecdsa p256", SSH_KEYTYPE_ECDSA_P256, "", "ecdsa-sha2-nistp256"},
    {"ecdsa p384", SSH_KEYTYPE_ECDSA_P384, "", "ecdsa-sha2-nistp384"},
    {"rsa, rsa-sha2-512", SSH_KEYTYPE_RSA, "", "rsa-sha2-512"},
    {"rsa, rsa-sha2-256", SSH_KEYTYPE_RSA, "rsa-sha2-256", "rsa-sha2-256"},
};

struct UserKeyCase {
    const char* name;
    ssh_keytypes_e type;
    const char* client_pubkey_types;
    const char* algorithm;       // what the client must sign with
    const char* other_algorithm; // a wrong claim for that signature
};

const UserKeyCase kUserKeyCases[] = {
    {"ed25519", SSH_KEYTYPE_ED25519, "", "ssh-ed25519", "ecdsa-sha2-nistp256"},
    {"ecdsa p256", SSH_KEYTYPE_ECDSA_P256, "", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384"},
    {"rsa, rsa-sha2-256", SSH_KEYTYPE_RSA, "rsa-sha2-256", "rsa-sha2-256", "rsa-sha2-512"},
    {"rsa, rsa-sha2-512", SSH_KEYTYPE_RSA, "rsa-sha2-512", "rsa-sha2-512", "rsa-sha2-256"},
};

} // namespace

TEST_CASE("a server with only public host keys signs through the callback, also on re-key", "[libssh][delegation]")
{
    for (const HostKeyCase& c : kHostKeyCases) {
        DYNAMIC_SECTION(c.name)
        {
            ssh_key host_key = cached_key(c.type);
            PairOptions opt;
            opt.host_key = host_key;
            opt.client_hostkeys = c.client_hostkeys;
            opt.client_rekey_data = 4096; // a re-key after a few KiB once authenticated
            opt.allow_none = true;
            DelegatedPair pair(opt);
            REQUIRE(pair.key_exchange());

            // One signature, over the hash that became the session id, with
            // the negotiated algorithm and the public key the bind holds.
            REQUIRE(pair.sign_calls.size() == 1);
            const SignCall first = pair.sign_calls[0];
            CHECK(first.algorithm == c.algorithm);
            CHECK(first.hostkey_public);
            CHECK(first.hostkey_matches);
            CHECK(first.hash.size() >= 32);
            CHECK(pair.client_session_id() == first.hash);
            CHECK(pair.server_session_id() == first.hash);

            // The client saw the monitor's host key and its known_hosts entry.
            ssh_key seen = nullptr;
            REQUIRE(ssh_get_server_publickey(pair.client(), &seen) == SSH_OK);
            KeyPtr seen_owned(seen);
            CHECK(ssh_key_cmp(seen, host_key, SSH_KEY_CMP_PUBLIC) == 0);
            CHECK(ssh_session_is_known_server(pair.client()) == SSH_KNOWN_HOSTS_OK);

            REQUIRE(pair.auth([&] { return ssh_userauth_none(pair.client(), nullptr); }) == SSH_AUTH_SUCCESS);

            // Traffic past the client's re-key limit: a second key exchange,
            // signed through the callback over a new hash; the session id
            // stays the first hash.
            const std::string filler(1000, 'x');
            for (int i = 0; i < 8 && pair.sign_calls.size() < 2; ++i) {
                REQUIRE(ssh_send_ignore(pair.client(), filler.c_str()) == SSH_OK);
                pair.run_until([&] { return pair.sign_calls.size() >= 2; }, 10);
            }
            REQUIRE(pair.sign_calls.size() >= 2);
            CHECK(pair.sign_calls[1].algorithm == c.algorithm);
            CHECK(pair.sign_calls[1].hostkey_public);
            CHECK(pair.sign_calls[1].hash.size() == first.hash.size());
            CHECK(pair.sign_calls[1].hash != first.hash);

            // The re-keyed session works: a channel opens over the new keys.
            ChannelPtr channel(ssh_channel_new(pair.client()));
            REQUIRE(channel);
            REQUIRE(pair.drive([&] { return ssh_channel_open_session(channel.get()); }, SSH_AGAIN) == SSH_OK);
            CHECK(pair.server_channel);
            CHECK(pair.client_session_id() == first.hash);
            CHECK(pair.server_session_id() == first.hash);
        }
    }
}

TEST_CASE("the key exchange fails without a usable host key signature", "[libssh][delegation]")
{
    ssh_key host_key = cached_key(SSH_KEYTYPE_ED25519);
    PairOptions opt;
    opt.host_key = host_key;

    SECTION("the callback fails")
    {
        DelegatedPair pair(opt);
        pair.fail_sign = true;
        CHECK_FALSE(pair.key_exchange());
        CHECK(pair.sign_calls.size() == 1);
        CHECK(std::string(ssh_get_error(pair.server())).find("sign") != std::string::npos);
    }
    SECTION("a public host key and no callback")
    {
        opt.sign_callback = false;
        DelegatedPair pair(opt);
        CHECK_FALSE(pair.key_exchange());
        CHECK(pair.sign_calls.empty());
        CHECK(std::string(ssh_get_error(pair.server())) != "");
    }
}

TEST_CASE("a signed publickey request reaches the signature callback unverified, blobs as sent",
          "[libssh][delegation]")
{
    for (const UserKeyCase& c : kUserKeyCases) {
        DYNAMIC_SECTION(c.name)
        {
            ssh_key host_key = cached_key(SSH_KEYTYPE_ED25519);
            ssh_key user_key = cached_key(c.type);
            KeyPtr user_pub = public_of(user_key);
            PairOptions opt;
            opt.host_key = host_key;
            opt.client_pubkey_types = c.client_pubkey_types;
            DelegatedPair pair(opt);
            REQUIRE(pair.key_exchange());
            REQUIRE(pair.sign_calls.size() == 1);
            const Bytes session_id = pair.sign_calls[0].hash;

            // A query (no signature) still goes to auth_pubkey_function.
            REQUIRE(pair.auth([&] { return ssh_userauth_try_publickey(pair.client(), nullptr, user_pub.get()); }) ==
                    SSH_AUTH_SUCCESS);
            REQUIRE(pair.pubkey_states.size() == 1);
            CHECK(pair.pubkey_states[0] == SSH_PUBLICKEY_STATE_NONE);
            CHECK(pair.signed_requests.empty());

            // The signed request: the callback's DENIED is the client's.
            pair.signature_result = SSH_AUTH_DENIED;
            REQUIRE(pair.auth([&] { return ssh_userauth_publickey(pair.client(), nullptr, user_key); }) ==
                    SSH_AUTH_DENIED);
            REQUIRE(pair.signed_requests.size() == 1);
            CHECK(pair.pubkey_states.size() == 1); // not auth_pubkey_function
            const SignedRequest r = pair.signed_requests[0];
            CHECK(r.user == kUser);
            CHECK(r.service == "ssh-connection");
            CHECK(r.method == kHostbound); // a 0.12 client binds to the host key when offered
            CHECK(r.algorithm == c.algorithm);
            CHECK(r.key_blob == pubkey_blob(user_pub.get()));
            REQUIRE(r.hostkey_blob);
            CHECK(*r.hostkey_blob == pubkey_blob(host_key));
            CHECK(blob_algorithm(r.signature) == c.algorithm);

            // The data the client signed, rebuilt from the session id the
            // sign callback saw: it verifies.
            const Bytes data = signed_data(session_id, r.user, r.method, r.algorithm, r.key_blob, r.hostkey_blob);
            CHECK(verify(user_pub.get(), r.algorithm, r.signature, data) == SSH_OK);

            // Anything else does not.
            Bytes modified = data;
            modified[modified.size() / 2] ^= 0x01;
            CHECK(verify(user_pub.get(), r.algorithm, r.signature, modified) == SSH_ERROR);
            CHECK(verify(user_pub.get(), c.other_algorithm, r.signature, data) == SSH_ERROR);
            if (c.type == SSH_KEYTYPE_RSA) {
                // Even with the blob renamed to the claim: the digest differs.
                const Bytes renamed = rename_blob(r.signature, c.other_algorithm);
                CHECK(verify(user_pub.get(), c.other_algorithm, renamed, data) == SSH_ERROR);
            }
            ssh_key other = cached_key(c.type, 1);
            KeyPtr other_pub = public_of(other);
            const Bytes other_signature = sign(other, r.algorithm, data);
            CHECK(verify(other_pub.get(), r.algorithm, other_signature, data) == SSH_OK);
            CHECK(verify(user_pub.get(), r.algorithm, other_signature, data) == SSH_ERROR);
            Bytes other_id = session_id;
            other_id[0] ^= 0x80;
            const Bytes other_session =
                signed_data(other_id, r.user, r.method, r.algorithm, r.key_blob, r.hostkey_blob);
            CHECK(verify(user_pub.get(), r.algorithm, r.signature, other_session) == SSH_ERROR);
            // Without the host key (as plain "publickey" would sign) it fails too.
            const Bytes unbound = signed_data(session_id, r.user, r.method, r.algorithm, r.key_blob, std::nullopt);
            CHECK(verify(user_pub.get(), r.algorithm, r.signature, unbound) == SSH_ERROR);

            // SUCCESS logs the client in.
            pair.signature_result = SSH_AUTH_SUCCESS;
            REQUIRE(pair.auth([&] { return ssh_userauth_publickey(pair.client(), nullptr, user_key); }) ==
                    SSH_AUTH_SUCCESS);
            CHECK(pair.signed_requests.size() == 2);
        }
    }
}

TEST_CASE("hand-made publickey requests: plain method, bad signatures and unreadable keys counted, malformed ones fatal",
          "[libssh][delegation]")
{
    ssh_key host_key = cached_key(SSH_KEYTYPE_ED25519);
    ssh_key user_key = cached_key(SSH_KEYTYPE_ED25519);
    KeyPtr user_pub = public_of(user_key);
    const Bytes key_blob = pubkey_blob(user_pub.get());
    PairOptions opt;
    opt.host_key = host_key;
    DelegatedPair pair(opt);
    REQUIRE(pair.key_exchange());
    const Bytes session_id = pair.sign_calls.at(0).hash;
    // Also asks for the ssh-userauth service, which the raw requests need.
    REQUIRE(pair.auth([&] { return ssh_userauth_none(pair.client(), nullptr); }) == SSH_AUTH_DENIED);

    // USERAUTH_REQUEST up to and including the key blob.
    auto request_head = [&](std::string_view method, bool has_signature, const Bytes& blob) {
        Bytes p;
        p.push_back(50);
        put_string(p, kUser);
        put_string(p, "ssh-connection");
        put_string(p, method);
        p.push_back(has_signature ? 1 : 0);
        put_string(p, "ssh-ed25519");
        put_string(p, blob);
        return p;
    };

    SECTION("plain publickey, a valid signature")
    {
        const Bytes data = signed_data(session_id, kUser, "publickey", "ssh-ed25519", key_blob, std::nullopt);
        Bytes p = request_head("publickey", true, key_blob);
        put_string(p, sign(user_key, "ssh-ed25519", data));
        pair.signature_result = SSH_AUTH_DENIED;
        CHECK(pair.send_auth_request(p) == RAW_AUTH_FAILURE);
        REQUIRE(pair.signed_requests.size() == 1);
        const SignedRequest& r = pair.signed_requests[0];
        CHECK(r.method == "publickey");
        CHECK_FALSE(r.hostkey_blob);
        CHECK(r.key_blob == key_blob);
        CHECK(verify(user_pub.get(), r.algorithm, r.signature,
                     signed_data(session_id, r.user, r.method, r.algorithm, r.key_blob, r.hostkey_blob)) == SSH_OK);

        pair.signature_result = SSH_AUTH_PARTIAL;
        CHECK(pair.send_auth_request(p) == RAW_AUTH_PARTIAL);
        pair.signature_result = SSH_AUTH_SUCCESS;
        CHECK(pair.send_auth_request(p) == RAW_AUTH_SUCCESS);
        CHECK(pair.signed_requests.size() == 3);
    }
    SECTION("a garbage signature reaches the callback, which can count it")
    {
        Bytes p = request_head("publickey", true, key_blob);
        put_string(p, "not a signature");
        CHECK(pair.send_auth_request(p) == RAW_AUTH_FAILURE);
        REQUIRE(pair.signed_requests.size() == 1);
        const SignedRequest& r = pair.signed_requests[0];
        CHECK(r.signature == Bytes{'n', 'o', 't', ' ', 'a', ' ', 's', 'i', 'g', 'n', 'a', 't', 'u', 'r', 'e'});
        CHECK(verify(user_pub.get(), r.algorithm, r.signature,
                     signed_data(session_id, r.user, r.method, r.algorithm, r.key_blob, r.hostkey_blob)) == SSH_ERROR);
    }
    SECTION("the host key blob of a hostbound request is handed over as sent")
    {
        // libssh leaves comparing it with the real host key to the callback.
        const Bytes stranger = pubkey_blob(cached_key(SSH_KEYTYPE_ED25519, 1));
        const Bytes data = signed_data(session_id, kUser, kHostbound, "ssh-ed25519", key_blob, stranger);
        Bytes p = request_head(kHostbound, true, key_blob);
        put_string(p, stranger);
        put_string(p, sign(user_key, "ssh-ed25519", data));
        CHECK(pair.send_auth_request(p) == RAW_AUTH_FAILURE);
        REQUIRE(pair.signed_requests.size() == 1);
        REQUIRE(pair.signed_requests[0].hostkey_blob);
        CHECK(*pair.signed_requests[0].hostkey_blob == stranger);
        CHECK(*pair.signed_requests[0].hostkey_blob != pubkey_blob(host_key));
    }
    SECTION("a key blob that does not parse is refused, and each one reaches auth_pubkey_unreadable_function")
    {
        // sshd counts these as failed attempts (and looks no further than
        // the key blob): the application must see every one to count it.
        const Bytes nope{'n', 'o', 'p', 'e'};
        Bytes signed_bad = request_head("publickey", true, nope);
        put_string(signed_bad, "sig");
        const Bytes query_bad = request_head("publickey", false, nope);
        const Bytes signed_bad_no_signature = request_head("publickey", true, nope);
        Bytes hostbound_bad = request_head(kHostbound, true, nope);
        put_string(hostbound_bad, pubkey_blob(host_key));
        put_string(hostbound_bad, "sig");
        const std::vector<Bytes> requests{signed_bad, query_bad, signed_bad_no_signature, hostbound_bad};
        // A client that keeps sending them: 5 rounds of the 4.
        for (int round = 0; round < 5; ++round)
            for (const Bytes& p : requests) CHECK(pair.send_auth_request(p) == RAW_AUTH_FAILURE);
        REQUIRE(pair.unreadable_requests.size() == 20);
        for (std::size_t i = 0; i < pair.unreadable_requests.size(); ++i) {
            const UnreadableRequest& r = pair.unreadable_requests[i];
            CHECK(r.user == kUser);
            CHECK(r.method == (i % 4 == 3 ? kHostbound : "publickey"));
            CHECK(r.algorithm == "ssh-ed25519");
            CHECK(r.key_blob == nope);
        }
        CHECK(pair.signed_requests.empty());
        CHECK(pair.pubkey_states.empty());
        // The session is still fine for a good request.
        const Bytes data = signed_data(session_id, kUser, "publickey", "ssh-ed25519", key_blob, std::nullopt);
        Bytes good = request_head("publickey", true, key_blob);
        put_string(good, sign(user_key, "ssh-ed25519", data));
        pair.signature_result = SSH_AUTH_SUCCESS;
        CHECK(pair.send_auth_request(good) == RAW_AUTH_SUCCESS);
        CHECK(pair.signed_requests.size() == 1);
        CHECK(pair.unreadable_requests.size() == 20);
    }

    // Requests sshd cannot parse end its connection (fatal): here the
    // session, in error state, with no answer and no callback.
    struct Malformed {
        const char* name;
        std::function<Bytes()> payload;
        const char* error; // ssh_get_error() of the server
    };
    const Bytes signature = sign(user_key, "ssh-ed25519",
                                 signed_data(session_id, kUser, "publickey", "ssh-ed25519", key_blob, std::nullopt));
    const Malformed malformed[] = {
        {"truncated after the signature flag",
         [&] {
             Bytes p;
             p.push_back(50);
             put_string(p, kUser);
             put_string(p, "ssh-connection");
             put_string(p, "publickey");
             p.push_back(1);
             return p;
         },
         "Malformed publickey request: truncated before the end of the key blob"},
        {"a key blob longer than the packet",
         [&] {
             Bytes p = request_head("publickey", false, key_blob);
             p.resize(p.size() - 1);
             return p;
         },
         "Malformed publickey request: truncated before the end of the key blob"},
        {"no signature", [&] { return request_head("publickey", true, key_blob); },
         "Malformed publickey request: no signature"},
        {"bytes after the signature",
         [&] {
             Bytes p = request_head("publickey", true, key_blob);
             put_string(p, signature);
             p.push_back(0);
             return p;
         },
         "Malformed publickey request: bytes after the signature"},
        {"bytes after a query's key blob",
         [&] {
             Bytes p = request_head("publickey", false, key_blob);
             put_string(p, "trailing");
             return p;
         },
         "Malformed publickey request: bytes after the key blob"},
        {"hostbound without its host key blob", [&] { return request_head(kHostbound, true, key_blob); },
         "Malformed publickey-hostbound-v00@openssh.com request: no host key blob"},
        {"hostbound with a host key blob that does not parse",
         [&] {
             Bytes p = request_head(kHostbound, true, key_blob);
             put_string(p, "not a host key");
             put_string(p, "sig");
             return p;
         },
         "Malformed publickey-hostbound-v00@openssh.com request: the host key blob does not parse"},
    };
    for (const Malformed& m : malformed) {
        DYNAMIC_SECTION("malformed, the session ends: " << m.name)
        {
            // The server's session goes to its error state as it reads the
            // request; an answer would have been sent by then, and two more
            // rounds (up to 40 ms) would bring it.
            raw_auth_reset(pair.client());
            const Bytes payload = m.payload();
            REQUIRE(raw_send_message(pair.client(), payload.data(), payload.size()) == SSH_OK);
            CHECK(pair.run_until([&] { return (ssh_get_status(pair.server()) & SSH_CLOSED_ERROR) != 0; }));
            pair.run_until([&] { return raw_auth_answer(pair.client()) != RAW_AUTH_NONE; }, 2);
            CHECK(raw_auth_answer(pair.client()) == RAW_AUTH_NONE);
            CHECK(std::string(ssh_get_error(pair.server())) == m.error);
            CHECK(pair.signed_requests.empty());
            CHECK(pair.unreadable_requests.empty());
            CHECK(pair.pubkey_states.empty());
        }
    }
}

TEST_CASE("without the signature callback libssh verifies as before", "[libssh][delegation]")
{
    ssh_key host_key = cached_key(SSH_KEYTYPE_ED25519);
    ssh_key user_key = cached_key(SSH_KEYTYPE_ED25519);
    KeyPtr user_pub = public_of(user_key);
    PairOptions opt;
    opt.host_key = host_key;
    opt.signature_callback = false;
    DelegatedPair pair(opt);
    REQUIRE(pair.key_exchange());

    SECTION("a valid signature reaches auth_pubkey_function as VALID")
    {
        REQUIRE(pair.auth([&] { return ssh_userauth_publickey(pair.client(), nullptr, user_key); }) ==
                SSH_AUTH_SUCCESS);
        REQUIRE(pair.pubkey_states.size() == 1);
        CHECK(pair.pubkey_states[0] == SSH_PUBLICKEY_STATE_VALID);
    }
    SECTION("a bad signature is still dropped unanswered")
    {
        REQUIRE(pair.auth([&] { return ssh_userauth_none(pair.client(), nullptr); }) == SSH_AUTH_DENIED);
        Bytes p;
        p.push_back(50);
        put_string(p, kUser);
        put_string(p, "ssh-connection");
        put_string(p, "publickey");
        p.push_back(1);
        put_string(p, "ssh-ed25519");
        put_string(p, pubkey_blob(user_pub.get()));
        put_string(p, sign(user_key, "ssh-ed25519", Bytes{'w', 'r', 'o', 'n', 'g'}));
        // 15 rounds (up to 300 ms) are plenty for an answer that would come.
        CHECK(pair.send_auth_request(p, 15) == RAW_AUTH_NONE);
        CHECK(pair.pubkey_states.empty());
        CHECK(pair.signed_requests.empty());

        // A key blob that does not parse: dropped as before, and
        // auth_pubkey_unreadable_function alone is not called.
        Bytes q;
        q.push_back(50);
        put_string(q, kUser);
        put_string(q, "ssh-connection");
        put_string(q, "publickey");
        q.push_back(0);
        put_string(q, "ssh-ed25519");
        put_string(q, "nope");
        CHECK(pair.send_auth_request(q, 15) == RAW_AUTH_NONE);
        CHECK(pair.unreadable_requests.empty());
        CHECK((ssh_get_status(pair.server()) & SSH_CLOSED_ERROR) == 0);
    }
}

TEST_CASE("ssh_pki_sign_data_blob and ssh_pki_verify_data_blob", "[libssh][delegation]")
{
    const Bytes data{'h', 'a', 's', 'h'};

    SECTION("each algorithm signs and verifies, and names itself in the blob")
    {
        const std::pair<ssh_keytypes_e, const char*> cases[] = {
            {SSH_KEYTYPE_ED25519, "ssh-ed25519"},           {SSH_KEYTYPE_ECDSA_P256, "ecdsa-sha2-nistp256"},
            {SSH_KEYTYPE_ECDSA_P384, "ecdsa-sha2-nistp384"}, {SSH_KEYTYPE_ECDSA_P521, "ecdsa-sha2-nistp521"},
            {SSH_KEYTYPE_RSA, "rsa-sha2-512"},              {SSH_KEYTYPE_RSA, "rsa-sha2-256"},
            {SSH_KEYTYPE_RSA, "ssh-rsa"},
        };
        for (const auto& [type, algorithm] : cases) {
            INFO(algorithm);
            ssh_key key = cached_key(type);
            KeyPtr pub = public_of(key);
            const Bytes blob = sign(key, algorithm, data);
            CHECK(blob_algorithm(blob) == algorithm);
            CHECK(verify(pub.get(), algorithm, blob, data) == SSH_OK);
            Bytes trailing = blob;
            trailing.push_back(0);
            CHECK(verify(pub.get(), algorithm, trailing, data) == SSH_ERROR);
            Bytes truncated(blob.begin(), blob.end() - 1);
            CHECK(verify(pub.get(), algorithm, truncated, data) == SSH_ERROR);
            CHECK(verify(pub.get(), algorithm, Bytes{}, data) == SSH_ERROR);
        }
    }
    SECTION("an algorithm that does not fit the key is refused")
    {
        ssh_string blob = nullptr;
        CHECK(ssh_pki_sign_data_blob(cached_key(SSH_KEYTYPE_ED25519), "rsa-sha2-512", data.data(), data.size(), &blob) ==
              SSH_ERROR);
        CHECK(ssh_pki_sign_data_blob(cached_key(SSH_KEYTYPE_RSA), "ssh-ed25519", data.data(), data.size(), &blob) ==
              SSH_ERROR);
        CHECK(ssh_pki_sign_data_blob(cached_key(SSH_KEYTYPE_ECDSA_P256), "ecdsa-sha2-nistp384", data.data(),
                                     data.size(), &blob) == SSH_ERROR);
        CHECK(ssh_pki_sign_data_blob(cached_key(SSH_KEYTYPE_RSA), "rsa-sha2-512-cert-v01@openssh.com", data.data(),
                                     data.size(), &blob) == SSH_ERROR);
        CHECK(ssh_pki_sign_data_blob(cached_key(SSH_KEYTYPE_ED25519), "bogus", data.data(), data.size(), &blob) ==
              SSH_ERROR);
        KeyPtr pub = public_of(cached_key(SSH_KEYTYPE_ED25519));
        CHECK(ssh_pki_sign_data_blob(pub.get(), "ssh-ed25519", data.data(), data.size(), &blob) == SSH_ERROR);
        CHECK(blob == nullptr);

        // A valid ECDSA P-256 signature verified as if the key were RSA or P-384.
        const Bytes ecdsa = sign(cached_key(SSH_KEYTYPE_ECDSA_P256), "ecdsa-sha2-nistp256", data);
        KeyPtr rsa_pub = public_of(cached_key(SSH_KEYTYPE_RSA));
        KeyPtr p384_pub = public_of(cached_key(SSH_KEYTYPE_ECDSA_P384));
        CHECK(verify(rsa_pub.get(), "ecdsa-sha2-nistp256", ecdsa, data) == SSH_ERROR);
        CHECK(verify(p384_pub.get(), "ecdsa-sha2-nistp256", ecdsa, data) == SSH_ERROR);
    }
}

namespace {

struct EvpPkeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

// An RSA key made by OpenSSL (libssh will not generate one under 1024 bits),
// as libssh imports it, and an rsa-sha2-512 signature blob over `data` that
// OpenSSL made and checked itself.
struct OpensslRsa {
    KeyPtr key;
    KeyPtr pub;
    Bytes blob;
};

OpensslRsa openssl_rsa(unsigned bits, const Bytes& data)
{
    OpensslRsa r;
    std::unique_ptr<EVP_PKEY, EvpPkeyFree> pkey(EVP_RSA_gen(bits));
    REQUIRE(pkey);
    REQUIRE(EVP_PKEY_get_bits(pkey.get()) == static_cast<int>(bits));
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    REQUIRE(bio);
    REQUIRE(PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* pem_data = nullptr;
    const long pem_len = BIO_get_mem_data(bio.get(), &pem_data);
    REQUIRE(pem_len > 0);
    const std::string pem(pem_data, static_cast<std::size_t>(pem_len));
    ssh_key imported = nullptr;
    REQUIRE(ssh_pki_import_privkey_base64(pem.c_str(), nullptr, nullptr, nullptr, &imported) == SSH_OK);
    r.key.reset(imported);
    r.pub = public_of(r.key.get());

    std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
    REQUIRE(md);
    REQUIRE(EVP_DigestSignInit(md.get(), nullptr, EVP_sha512(), nullptr, pkey.get()) == 1);
    std::size_t sig_len = 0;
    REQUIRE(EVP_DigestSign(md.get(), nullptr, &sig_len, data.data(), data.size()) == 1);
    Bytes sig(sig_len);
    REQUIRE(EVP_DigestSign(md.get(), sig.data(), &sig_len, data.data(), data.size()) == 1);
    sig.resize(sig_len);
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> check(EVP_MD_CTX_new());
    REQUIRE(check);
    REQUIRE(EVP_DigestVerifyInit(check.get(), nullptr, EVP_sha512(), nullptr, pkey.get()) == 1);
    REQUIRE(EVP_DigestVerify(check.get(), sig.data(), sig.size(), data.data(), data.size()) == 1);
    put_string(r.blob, "rsa-sha2-512");
    put_string(r.blob, sig);
    return r;
}

} // namespace

TEST_CASE("RSA keys under 1024 bits neither sign nor verify", "[libssh][delegation]")
{
    const Bytes data{'s', 'e', 's', 's', 'i', 'o', 'n'};
    const OpensslRsa small = openssl_rsa(768, data);

    ssh_string blob = nullptr;
    CHECK(ssh_pki_sign_data_blob(small.key.get(), "rsa-sha2-512", data.data(), data.size(), &blob) == SSH_ERROR);
    CHECK(blob == nullptr);
    // A signature valid in itself, refused for the key's size alone ...
    CHECK(verify(small.pub.get(), "rsa-sha2-512", small.blob, data) == SSH_ERROR);

    // ... as the same construction with a 1024-bit key, the minimum, passes.
    const OpensslRsa minimum = openssl_rsa(1024, data);
    CHECK(verify(minimum.pub.get(), "rsa-sha2-512", minimum.blob, data) == SSH_OK);
    CHECK(ssh_pki_sign_data_blob(minimum.key.get(), "rsa-sha2-512", data.data(), data.size(), &blob) == SSH_OK);
    SshString owned(blob);
}

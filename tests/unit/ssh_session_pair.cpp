#include "ssh_session_pair.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "base/fd.hpp"

namespace feth::test {
namespace {

// Every setup step is a handful of packets each way: far fewer rounds than
// this, each bounded by a 50 ms poll.
constexpr int kSetupRounds = 2000;
// The longest wait of one run() round.
constexpr int kRoundMs = 20;

[[noreturn]] void setup_failed(const char* step, ssh_session session)
{
    throw std::runtime_error(std::string("session pair: ") + step + ": " +
                             (session != nullptr ? ssh_get_error(session) : "failed"));
}

// Waits (at most 50 ms) until either end of the socketpair has something
// to read: the other side has answered.
void wait_readable(int a, int b)
{
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    ::poll(p, 2, 50);
}

// An Ed25519 host key; libssh 0.12 deprecates ssh_pki_generate.
int generate_host_key(ssh_key* key)
{
#if LIBSSH_VERSION_INT >= SSH_VERSION_INT(0, 12, 0)
    return ssh_pki_generate_key(SSH_KEYTYPE_ED25519, nullptr, key);
#else
    return ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, key);
#endif
}

} // namespace

SessionPair::SessionPair(TunMode mode, std::uint64_t server_rekey_data)
{
    // Non-blocking, as feth-sshd's connections are: one thread runs both
    // ends, so neither may ever wait on a full socket.
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) throw std::runtime_error("session pair: socketpair failed");
    const int server_fd = fds[0], client_fd = fds[1];
    try {
        set_nonblocking_cloexec(server_fd, "session pair");
        set_nonblocking_cloexec(client_fd, "session pair");
    } catch (...) {
        ::close(server_fd);
        ::close(client_fd);
        throw;
    }

    // The server end: a bind holding a fresh host key, which it frees.
    bind_.reset(ssh_bind_new());
    server_.reset(ssh_new());
    client_.reset(ssh_new());
    if (!bind_ || !server_ || !client_) {
        ::close(server_fd);
        ::close(client_fd);
        throw std::runtime_error("session pair: out of memory");
    }
    bool no = false;
    ssh_bind_options_set(bind_.get(), SSH_BIND_OPTIONS_PROCESS_CONFIG, &no);
    ssh_key host_key = nullptr;
    if (generate_host_key(&host_key) != SSH_OK ||
        ssh_bind_options_set(bind_.get(), SSH_BIND_OPTIONS_IMPORT_KEY, host_key) != SSH_OK) {
        ssh_key_free(host_key);
        ::close(server_fd);
        ::close(client_fd);
        throw std::runtime_error("session pair: host key");
    }
    // From here each session owns its end of the socketpair.
    if (ssh_bind_accept_fd(bind_.get(), server_.get(), server_fd) != SSH_OK) {
        ::close(server_fd);
        ::close(client_fd);
        setup_failed("ssh_bind_accept_fd", nullptr);
    }
    if (server_rekey_data != 0 &&
        ssh_options_set(server_.get(), SSH_OPTIONS_REKEY_DATA, &server_rekey_data) != SSH_OK) {
        ::close(client_fd);
        setup_failed("SSH_OPTIONS_REKEY_DATA", server_.get());
    }
    socket_t cfd = client_fd;
    if (ssh_options_set(client_.get(), SSH_OPTIONS_FD, &cfd) != SSH_OK) {
        ::close(client_fd);
        setup_failed("SSH_OPTIONS_FD", client_.get());
    }
    ssh_options_set(client_.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(client_.get(), SSH_OPTIONS_HOST, "session-pair.invalid");
    ssh_options_set(client_.get(), SSH_OPTIONS_USER, "pump");

    ssh_callbacks_init(&server_cb_);
    server_cb_.userdata = this;
    server_cb_.auth_none_function = &SessionPair::on_auth_none;
    ssh_set_server_callbacks(server_.get(), &server_cb_);
    ssh_set_auth_methods(server_.get(), SSH_AUTH_METHOD_NONE);
    ssh_set_message_callback(server_.get(), &SessionPair::on_message, this);
    ssh_set_blocking(server_.get(), 0);
    ssh_set_blocking(client_.get(), 0);

    // Key exchange: both ends step in turn, neither blocks.
    bool client_done = false, server_done = false;
    for (int i = 0; i < kSetupRounds && !(client_done && server_done); ++i) {
        if (!client_done) {
            int rc = ssh_connect(client_.get());
            if (rc == SSH_ERROR) setup_failed("ssh_connect", client_.get());
            client_done = rc == SSH_OK;
        }
        if (!server_done) {
            int rc = ssh_handle_key_exchange(server_.get());
            if (rc == SSH_ERROR) setup_failed("ssh_handle_key_exchange", server_.get());
            server_done = rc == SSH_OK;
        }
        if (!(client_done && server_done)) wait_readable(server_fd, client_fd);
    }
    if (!(client_done && server_done)) setup_failed("key exchange did not finish", client_.get());

    // From here the server runs in its event, as feth-sshd's does.
    server_event_.reset(ssh_event_new());
    if (!server_event_ || ssh_event_add_session(server_event_.get(), server_.get()) != SSH_OK)
        setup_failed("server event", server_.get());

    bool authenticated = false;
    for (int i = 0; i < kSetupRounds && !authenticated; ++i) {
        int rc = ssh_userauth_none(client_.get(), nullptr);
        if (rc == SSH_AUTH_ERROR || rc == SSH_AUTH_DENIED) setup_failed("ssh_userauth_none", client_.get());
        authenticated = rc == SSH_AUTH_SUCCESS;
        if (!authenticated) {
            wait_readable(server_fd, client_fd);
            ssh_event_dopoll(server_event_.get(), 0);
        }
    }
    if (!authenticated) setup_failed("authentication did not finish", client_.get());

    ChannelPtr channel(ssh_channel_new(client_.get()));
    if (!channel) setup_failed("ssh_channel_new", client_.get());
    const int tun_mode = mode == TunMode::Ethernet ? SSH_TUN_MODE_ETHERNET : SSH_TUN_MODE_POINTOPOINT;
    bool open = false;
    for (int i = 0; i < kSetupRounds && !open; ++i) {
        int rc = ssh_channel_open_tun(channel.get(), tun_mode, 0);
        if (rc == SSH_ERROR) setup_failed("ssh_channel_open_tun", client_.get());
        open = rc == SSH_OK;
        if (!open) {
            wait_readable(server_fd, client_fd);
            ssh_event_dopoll(server_event_.get(), 0);
        }
    }
    if (!open || !server_channel_) setup_failed("the tunnel channel did not open", client_.get());
    client_channel_ = std::move(channel);

    client_event_.reset(ssh_event_new());
    if (!client_event_ || ssh_event_add_session(client_event_.get(), client_.get()) != SSH_OK)
        setup_failed("client event", client_.get());
}

SessionPair::~SessionPair()
{
    // Channels and pumps go before their sessions leave the events.
    if (client_event_) ssh_event_remove_session(client_event_.get(), client_.get());
    if (server_event_) ssh_event_remove_session(server_event_.get(), server_.get());
}

int SessionPair::on_message(ssh_session, ssh_message msg, void* userdata)
{
    auto* self = static_cast<SessionPair*>(userdata);
    if (ssh_message_type(msg) != SSH_REQUEST_CHANNEL_OPEN || ssh_message_subtype(msg) != SSH_CHANNEL_TUN ||
        self->server_channel_)
        return 1; // libssh's default answer: refused
    ssh_channel accepted = ssh_message_channel_request_open_reply_accept(msg);
    if (accepted == nullptr) return 1;
    self->server_channel_.reset(accepted);
    return 0;
}

bool SessionPair::run(const std::function<bool()>& done, const std::function<int()>& server_timeout_ms,
                      const std::function<void()>& after_server, int max_rounds, bool hold_client)
{
    for (int i = 0; i < max_rounds && !done(); ++i) {
        // Never longer than a round: the client may be the one with work.
        int timeout = server_timeout_ms();
        if (timeout < 0 || timeout > kRoundMs) timeout = kRoundMs;
        ssh_event_dopoll(server_event_.get(), timeout);
        after_server();
        if (!hold_client) ssh_event_dopoll(client_event_.get(), 0);
    }
    return done();
}

} // namespace feth::test

// bad_client: a hostile SSH client for feth-sshd's end-to-end tests, on the
// patched libssh. Each scenario sends one kind of bad input and checks that
// the server gives its documented answer (docs/security.md, "Bad input from
// a peer"). Prints "RESULT <scenario> ok ..." and exits 0 when it did,
// "RESULT <scenario> FAILED: ..." and exits 1 otherwise; 2 when it could not
// even connect.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "raw_packets.h"
#include "tunnel/ssh_handles.hpp"
#include "tunnel/wire.hpp"

namespace {

using feth::ChannelPtr;
using feth::SessionPtr;
using Clock = std::chrono::steady_clock;

struct Target {
    std::string host;
    int port = 22;
    std::string user = "root";
    std::string identity;
};

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct NoConnection : std::runtime_error {
    using std::runtime_error::runtime_error;
};

SessionPtr connect_to(const Target& t, bool authenticate)
{
    SessionPtr s(ssh_new());
    if (!s) throw NoConnection("ssh_new failed");
    int port = t.port;
    long timeout = 10;
    int no = 0;
    ssh_options_set(s.get(), SSH_OPTIONS_HOST, t.host.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_PORT, &port);
    ssh_options_set(s.get(), SSH_OPTIONS_USER, t.user.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s.get(), SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
    ssh_options_set(s.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
    if (ssh_connect(s.get()) != SSH_OK)
        throw NoConnection(t.host + " port " + std::to_string(t.port) + ": " + ssh_get_error(s.get()));
    if (!authenticate) return s;
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(t.identity.c_str(), nullptr, nullptr, nullptr, &raw) != SSH_OK)
        throw NoConnection("cannot load identity " + t.identity);
    feth::KeyPtr key(raw);
    if (ssh_userauth_publickey(s.get(), nullptr, key.get()) != SSH_AUTH_SUCCESS)
        throw NoConnection("public key authentication failed: " + std::string(ssh_get_error(s.get())));
    return s;
}

std::vector<std::uint8_t> mode_unit(std::uint32_t mode, std::uint32_t unit)
{
    std::vector<std::uint8_t> b(8);
    feth::wire::store_be32(b.data(), mode);
    feth::wire::store_be32(b.data() + 4, unit);
    return b;
}

// Sends a tun@openssh.com open with `payload` as its type-specific part and
// waits (bounded) for the answer.
raw_open_state open_raw(ssh_session s, const std::vector<std::uint8_t>& payload, ChannelPtr& out)
{
    ChannelPtr c(raw_channel_opening(s));
    if (!c) throw Failure("cannot make a channel object: " + std::string(ssh_get_error(s)));
    if (raw_send_channel_open(s, "tun@openssh.com", raw_channel_local_id(c.get()), payload.data(), payload.size()) !=
        SSH_OK)
        throw Failure("sending the channel open failed: " + std::string(ssh_get_error(s)));
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (raw_channel_state(c.get()) == RAW_OPENING && Clock::now() < deadline) {
        if (raw_process(s, 200) != SSH_OK) break;
    }
    raw_open_state st = raw_channel_state(c.get());
    out = std::move(c);
    return st;
}

const char* state_name(raw_open_state st)
{
    switch (st) {
    case RAW_OPENING: return "no answer";
    case RAW_OPEN: return "confirmed";
    case RAW_DENIED: return "open failure";
    default: return "closed";
    }
}

void expect_denied(ssh_session s, const std::vector<std::uint8_t>& payload, const std::string& what)
{
    ChannelPtr c;
    raw_open_state st = open_raw(s, payload, c);
    if (st != RAW_DENIED) throw Failure(what + ": expected an open failure, got " + state_name(st));
    if (raw_session_in_error(s)) throw Failure(what + ": the session broke: " + ssh_get_error(s));
}

// Truncated type-specific parts: 0 to 7 bytes instead of mode + unit.
std::string truncated(const Target& t)
{
    auto s = connect_to(t, true);
    auto full = mode_unit(2, feth::kTunUnitAny);
    for (std::size_t n = 0; n < 8; ++n)
        expect_denied(s.get(), std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<long>(n)),
                      std::to_string(n) + "-byte payload");
    return "8 truncated opens, 8 open failures, session alive";
}

std::string bad_mode(const Target& t)
{
    auto s = connect_to(t, true);
    for (std::uint32_t mode : {0u, 3u, 0xffffffffu})
        expect_denied(s.get(), mode_unit(mode, feth::kTunUnitAny), "mode " + std::to_string(mode));
    return "modes 0, 3, 0xffffffff: open failures, session alive";
}

std::string bad_unit(const Target& t)
{
    auto s = connect_to(t, true);
    for (std::uint32_t unit : {feth::kTunUnitMax + 1, 0x80000000u, 0xfffffffeu, 0xffffffffu})
        expect_denied(s.get(), mode_unit(2, unit), "unit " + std::to_string(unit));
    return "units above " + std::to_string(feth::kTunUnitMax) + " (other than any): open failures, session alive";
}

// mode + unit followed by 30 KiB of trailing bytes: libssh reads the two
// fields and ignores the rest, as OpenSSH does; the open must be answered
// either way and the session survive.
std::string oversized(const Target& t)
{
    auto s = connect_to(t, true);
    auto payload = mode_unit(2, feth::kTunUnitAny);
    payload.resize(payload.size() + 30 * 1024, 0xa5);
    ChannelPtr c;
    raw_open_state st = open_raw(s.get(), payload, c);
    if (st != RAW_OPEN && st != RAW_DENIED) throw Failure(std::string("expected an answer, got ") + state_name(st));
    if (raw_session_in_error(s.get())) throw Failure("the session broke");
    return std::string("open with 30 KiB of trailing bytes: ") + state_name(st) + ", session alive";
}

// A channel open before authentication: libssh's packet filter rejects it
// and the server drops the connection, as sshd does ("protocol error").
std::string preauth(const Target& t)
{
    auto s = connect_to(t, false);
    auto payload = mode_unit(2, feth::kTunUnitAny);
    if (raw_send_channel_open(s.get(), "tun@openssh.com", 7, payload.data(), payload.size()) != SSH_OK)
        return "the session ended while sending (server closed it)";
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline)
        if (raw_process(s.get(), 200) != SSH_OK) return "tun open before authentication: connection closed";
    throw Failure("the server neither answered nor closed the connection within 10 s");
}

// 500 opens back to back, then every answer: the first ones up to the
// per-connection tunnel limit are confirmed, the rest refused.
std::string flood(const Target& t, int count, int limit)
{
    auto s = connect_to(t, true);
    std::vector<ChannelPtr> channels;
    auto payload = mode_unit(2, feth::kTunUnitAny);
    for (int i = 0; i < count; ++i) {
        ChannelPtr c(raw_channel_opening(s.get()));
        if (!c) throw Failure("cannot make channel object " + std::to_string(i));
        if (raw_send_channel_open(s.get(), "tun@openssh.com", raw_channel_local_id(c.get()), payload.data(),
                                  payload.size()) != SSH_OK)
            throw Failure("the session broke after " + std::to_string(i) + " opens");
        channels.push_back(std::move(c));
    }
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    auto pending = [&] {
        int n = 0;
        for (auto& c : channels) n += raw_channel_state(c.get()) == RAW_OPENING ? 1 : 0;
        return n;
    };
    while (pending() > 0 && Clock::now() < deadline)
        if (raw_process(s.get(), 200) != SSH_OK) throw Failure("the session broke while answers came in");
    int open = 0, denied = 0;
    for (auto& c : channels) {
        open += raw_channel_state(c.get()) == RAW_OPEN ? 1 : 0;
        denied += raw_channel_state(c.get()) == RAW_DENIED ? 1 : 0;
    }
    if (pending() > 0) throw Failure(std::to_string(pending()) + " of " + std::to_string(count) + " opens unanswered");
    if (open != limit || denied != count - limit)
        throw Failure(std::to_string(open) + " confirmed, " + std::to_string(denied) + " refused; expected " +
                      std::to_string(limit) + " confirmed");
    return std::to_string(count) + " opens: " + std::to_string(open) + " confirmed, " + std::to_string(denied) +
           " refused, session alive";
}

// After a good open: runt frames and frames above the tunnel's limit (but
// within the channel's max packet) are dropped by the server's pump and the
// tunnel stays open; then a message above the advertised max packet, which
// the server must not pass on (libssh ends the session or drops it).
std::string frames(const Target& t)
{
    auto s = connect_to(t, true);
    ChannelPtr c(ssh_channel_new(s.get()));
    if (!c || ssh_channel_open_tun(c.get(), SSH_TUN_MODE_ETHERNET, feth::kTunUnitAny) != SSH_OK)
        throw Failure("the tunnel did not open: " + std::string(ssh_get_error(s.get())));
    const std::uint32_t maxpacket = raw_channel_remote_maxpacket(c.get());
    std::vector<std::uint8_t> runt(5, 0x11);
    std::vector<std::uint8_t> big(feth::wire::kMaxFrame + 1, 0x22);
    for (int i = 0; i < 3; ++i) {
        if (raw_send_channel_data(s.get(), raw_channel_remote_id(c.get()), runt.data(), runt.size()) != SSH_OK ||
            raw_send_channel_data(s.get(), raw_channel_remote_id(c.get()), big.data(), big.size()) != SSH_OK)
            throw Failure("the session broke sending bad frames");
    }
    const auto until = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < until)
        if (raw_process(s.get(), 200) != SSH_OK) throw Failure("the session broke after runt/oversized frames");
    if (!ssh_channel_is_open(c.get()) || ssh_channel_is_eof(c.get()))
        throw Failure("the tunnel was closed over runt/oversized frames");
    std::string result = "3 runt + 3 oversized (" + std::to_string(big.size()) + " bytes) frames dropped, tunnel open";
    if (maxpacket == 0 || maxpacket > 256 * 1024) return result + "; max packet " + std::to_string(maxpacket) + " not tested";
    std::vector<std::uint8_t> huge(maxpacket + 1024, 0x33);
    if (raw_send_channel_data(s.get(), raw_channel_remote_id(c.get()), huge.data(), huge.size()) != SSH_OK)
        return result + "; " + std::to_string(huge.size()) + " bytes above max packet: connection closed";
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        if (raw_process(s.get(), 200) != SSH_OK)
            return result + "; " + std::to_string(huge.size()) + " bytes above max packet " +
                   std::to_string(maxpacket) + ": connection closed";
    }
    if (!ssh_channel_is_open(c.get())) return result + "; above max packet: tunnel closed";
    return result + "; " + std::to_string(huge.size()) + " bytes above max packet " + std::to_string(maxpacket) +
           ": dropped, tunnel open";
}

} // namespace

int main(int argc, char** argv)
{
    Target t;
    int count = 500;
    int limit = 10;
    CLI::App app{"bad_client: hostile inputs for feth-sshd's tests", "bad_client"};
    app.add_option("--host", t.host, "server address")->required();
    app.add_option("--port", t.port, "server port");
    app.add_option("--user", t.user, "user name");
    app.add_option("--identity", t.identity, "private key file")->required();
    app.require_subcommand(1);
    auto* sc_trunc = app.add_subcommand("truncated", "tun opens with 0-7 bytes of mode and unit");
    auto* sc_mode = app.add_subcommand("bad-mode", "tun opens with unknown modes");
    auto* sc_unit = app.add_subcommand("bad-unit", "tun opens with units beyond the maximum");
    auto* sc_big = app.add_subcommand("oversized", "a tun open with 30 KiB of trailing bytes");
    auto* sc_pre = app.add_subcommand("preauth", "a tun open before authentication");
    auto* sc_flood = app.add_subcommand("flood", "many tun opens without waiting");
    sc_flood->add_option("--count", count, "opens to send");
    sc_flood->add_option("--limit", limit, "tunnels the server allows per connection");
    auto* sc_frames = app.add_subcommand("frames", "runt, oversized and above-max-packet frames");
    CLI11_PARSE(app, argc, argv);

    ssh_init();
    const std::string name = app.get_subcommands().front()->get_name();
    int status = 0;
    try {
        std::string what;
        if (*sc_trunc) what = truncated(t);
        else if (*sc_mode) what = bad_mode(t);
        else if (*sc_unit) what = bad_unit(t);
        else if (*sc_big) what = oversized(t);
        else if (*sc_pre) what = preauth(t);
        else if (*sc_flood) what = flood(t, count, limit);
        else if (*sc_frames) what = frames(t);
        std::printf("RESULT %s ok: %s\n", name.c_str(), what.c_str());
    } catch (const Failure& e) {
        std::printf("RESULT %s FAILED: %s\n", name.c_str(), e.what());
        status = 1;
    } catch (const std::exception& e) {
        std::printf("RESULT %s NO-CONNECTION: %s\n", name.c_str(), e.what());
        status = 2;
    }
    ssh_finalize();
    return status;
}

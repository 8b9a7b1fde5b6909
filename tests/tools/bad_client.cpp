// bad_client: a hostile SSH client for feth-sshd's end-to-end tests, on the
// patched libssh. Each scenario (one subcommand) sends one kind of bad input
// and checks that the server gives its documented answer (docs/security.md,
// "Bad input from a peer"): the OPEN_FAILURE reason code and text, the
// SSH_MSG_DEBUG line sshd sends before it, or the end of the connection.
//
// What the public API will not send (truncated or oversized opens, an open
// before authentication, data above the peer's maximum packet) goes out
// through raw_packets.c, which uses libssh's private headers. Only this test
// tool may do that; nothing in the server or client links raw_packets.c.
//
// Output: one line "RESULT <scenario> ok: <answers>" and exit 0 when every
// answer was the documented one; "RESULT <scenario> FAILED: <what differed>"
// and exit 1 otherwise; "RESULT <scenario> NO-CONNECTION: ..." and exit 2
// when it could not connect or log in at all.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/select.h>
#include <libssh/callbacks.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "raw_packets.h"
#include "tunnel/device.hpp"
#include "tunnel/pump.hpp"
#include "tunnel/ssh_handles.hpp"
#include "tunnel/wire.hpp"

namespace {

using feth::ChannelPtr;
using feth::SessionPtr;
using Clock = std::chrono::steady_clock;

// RFC 4254 5.1 reason codes.
constexpr std::uint32_t kAdministrativelyProhibited = 1;
constexpr std::uint32_t kConnectFailed = 2;

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

// ---- what the server said -------------------------------------------------

// libssh only logs a received SSH_MSG_DEBUG (at SSH_LOG_DEBUG); a log
// callback collects the text of each.
std::vector<std::string> g_debug_lines;
// slow-tunnel: the server's keepalives received, and the answers to ours.
unsigned g_server_keepalives = 0;
unsigned g_keepalive_answers = 0;

void on_log(int, const char*, const char* buffer, void*)
{
    const std::string_view l(buffer);
    if (l.find("Received keepalive@openssh.com") != std::string_view::npos) ++g_server_keepalives;
    if (l.find("Received SSH_REQUEST_SUCCESS") != std::string_view::npos ||
        l.find("Received SSH_REQUEST_FAILURE") != std::string_view::npos)
        ++g_keepalive_answers;
    constexpr std::string_view kMark = "Received SSH_MSG_DEBUG packet with message ";
    constexpr std::string_view kAlways = " (always display)";
    const std::string_view line(buffer);
    const auto at = line.find(kMark);
    if (at == std::string_view::npos) return;
    std::string_view text = line.substr(at + kMark.size());
    if (text.ends_with(kAlways)) text.remove_suffix(kAlways.size());
    g_debug_lines.emplace_back(text);
}

struct Answer {
    raw_open_state state = RAW_OPENING;
    std::uint32_t code = 0;           // OPEN_FAILURE reason code
    std::string reason;               // OPEN_FAILURE description
    std::vector<std::string> debug;   // SSH_MSG_DEBUG lines that came with it
    bool session_alive = true;
};

struct Expect {
    raw_open_state state = RAW_OPEN;
    std::uint32_t code = 0;
    std::string reason;
    std::string debug; // the one SSH_MSG_DEBUG line expected, "" for none
};

const Expect kConfirmed{RAW_OPEN, 0, "", ""};
// libssh patch 0001: a truncated type-specific part.
const Expect kMalformed{RAW_DENIED, kConnectFailed, "Malformed channel open request", ""};
// feth-sshd's refusals, with sshd's debug lines (ssh_message_reply_default
// sends "administratively prohibited" and no text).
const Expect kUnsupportedMode{RAW_DENIED, kAdministrativelyProhibited, "", "Unsupported tunnel device mode."};
const Expect kFailedToOpen{RAW_DENIED, kAdministrativelyProhibited, "", "Failed to open the tunnel device."};
// A channel type the server does not carry.
const Expect kUnknownType{RAW_DENIED, kAdministrativelyProhibited, "", ""};

std::string quote(const std::string& s)
{
    return "\"" + s + "\"";
}

std::string describe(const Answer& a)
{
    std::string out;
    switch (a.state) {
    case RAW_OPEN: out = "confirmed"; break;
    case RAW_DENIED: out = "open-failure code=" + std::to_string(a.code) + " reason=" + quote(a.reason); break;
    case RAW_OPENING: out = "no answer"; break;
    default: out = "channel closed"; break;
    }
    for (const auto& d : a.debug) out += " debug=" + quote(d);
    if (!a.session_alive) out += " (session ended)";
    return out;
}

std::string describe(const Expect& e)
{
    Answer a;
    a.state = e.state;
    a.code = e.code;
    a.reason = e.reason;
    if (!e.debug.empty()) a.debug.push_back(e.debug);
    return describe(a);
}

bool matches(const Answer& a, const Expect& e)
{
    if (!a.session_alive || a.state != e.state) return false;
    if (e.state == RAW_DENIED && (a.code != e.code || a.reason != e.reason)) return false;
    if (e.debug.empty()) return a.debug.empty();
    return a.debug.size() == 1 && a.debug.front() == e.debug;
}

// libssh keeps an OPEN_FAILURE's code and text only in the session's error:
// "Channel opening failure: channel N error (CODE) TEXT".
void read_open_failure(ssh_session s, Answer& a)
{
    const std::string err = ssh_get_error(s);
    const auto at = err.find(" error (");
    const auto close = err.find(") ", at == std::string::npos ? 0 : at);
    if (err.rfind("Channel opening failure:", 0) != 0 || at == std::string::npos || close == std::string::npos) {
        a.reason = "<unparsed: " + err + ">";
        return;
    }
    a.code = static_cast<std::uint32_t>(std::stoul(err.substr(at + 8, close - at - 8)));
    a.reason = err.substr(close + 2);
}

// ---- connections and opens --------------------------------------------------

SessionPtr connect_to(const Target& t, bool authenticate)
{
    SessionPtr s(ssh_new());
    if (!s) throw NoConnection("ssh_new failed");
    int port = t.port;
    long timeout = 10;
    int no = 0;
    int verbosity = SSH_LOG_DEBUG; // for SSH_MSG_DEBUG, see on_log
    ssh_options_set(s.get(), SSH_OPTIONS_HOST, t.host.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_PORT, &port);
    ssh_options_set(s.get(), SSH_OPTIONS_USER, t.user.c_str());
    ssh_options_set(s.get(), SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s.get(), SSH_OPTIONS_STRICTHOSTKEYCHECK, &no);
    ssh_options_set(s.get(), SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(s.get(), SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
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

std::vector<std::uint8_t> be32(std::uint32_t v)
{
    std::vector<std::uint8_t> b(4);
    feth::wire::store_be32(b.data(), v);
    return b;
}

std::vector<std::uint8_t> mode_unit(std::uint32_t mode, std::uint32_t unit)
{
    auto b = be32(mode);
    auto u = be32(unit);
    b.insert(b.end(), u.begin(), u.end());
    return b;
}

// Dispatches incoming packets for `seconds`; false if the session ended.
bool pump_for(ssh_session s, double seconds)
{
    const auto until = Clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    while (Clock::now() < until)
        if (raw_process(s, 100) != SSH_OK) return false;
    return true;
}

// Sends a channel open of `type` with `payload` as its type-specific part
// and waits (at most `wait_s`) for the answer.
Answer open_raw(ssh_session s, const std::vector<std::uint8_t>& payload, const char* type = "tun@openssh.com",
                double wait_s = 10)
{
    ChannelPtr c(raw_channel_opening(s));
    if (!c) throw Failure("cannot make a channel object: " + std::string(ssh_get_error(s)));
    g_debug_lines.clear();
    Answer a;
    if (raw_send_channel_open(s, type, raw_channel_local_id(c.get()), payload.data(), payload.size()) != SSH_OK) {
        a.session_alive = false;
        return a;
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(wait_s * 1000));
    while (raw_channel_state(c.get()) == RAW_OPENING && Clock::now() < deadline)
        if (raw_process(s, 100) != SSH_OK) break;
    a.state = raw_channel_state(c.get());
    if (a.state == RAW_DENIED) read_open_failure(s, a);
    a.debug = g_debug_lines;
    a.session_alive = !raw_session_in_error(s);
    return a;
}

// One open with its expected answer; returns the answer's description.
std::string expect(ssh_session s, const std::string& what, const std::vector<std::uint8_t>& payload,
                   const Expect& e, const char* type = "tun@openssh.com")
{
    const Answer a = open_raw(s, payload, type);
    if (!matches(a, e)) throw Failure(what + ": expected " + describe(e) + ", got " + describe(a));
    return describe(a);
}

// Ends every scenario that must leave the session usable: a well-formed
// open is still confirmed (the server picks the unit).
std::string still_works(ssh_session s)
{
    expect(s, "a good open afterwards", mode_unit(2, feth::kTunUnitAny), kConfirmed);
    return "; then mode 2 unit any: confirmed";
}

std::string hex(std::uint32_t v)
{
    char b[16];
    std::snprintf(b, sizeof b, "0x%x", v);
    return b;
}

// ---- scenarios --------------------------------------------------------------

// 0 to 7 bytes instead of mode + unit. OpenSSH's sshd ends the connection
// here (sshpkt_fatal); the patched libssh refuses just this channel.
std::string truncated(const Target& t)
{
    auto s = connect_to(t, true);
    const auto full = mode_unit(2, feth::kTunUnitAny);
    std::string answer;
    for (std::size_t n = 0; n < 8; ++n)
        answer = expect(s.get(), std::to_string(n) + "-byte type-specific part",
                        std::vector<std::uint8_t>(full.begin(), full.begin() + static_cast<long>(n)), kMalformed);
    return "0..7 bytes: 8 x " + answer + still_works(s.get());
}

std::string bad_mode(const Target& t)
{
    auto s = connect_to(t, true);
    std::string answer;
    for (std::uint32_t mode : {0u, 3u, 0x7fffffffu, 0x80000000u, 0xffffffffu})
        answer = expect(s.get(), "mode " + hex(mode), mode_unit(mode, feth::kTunUnitAny), kUnsupportedMode);
    return "modes 0, 3, 0x7fffffff, 0x80000000, 0xffffffff: 5 x " + answer + still_works(s.get());
}

// The highest unit is OpenSSH's SSH_TUNID_MAX (0x7ffffffd); 0x7fffffff is
// SSH_TUNID_ANY ("any": the server picks); everything else above the
// maximum is refused, by sshd ("invalid tun" above INT_MAX, "invalid tunnel
// id" in its Linux tun_open) and by us.
std::string bad_unit(const Target& t)
{
    static_assert(feth::kTunUnitMax == 0x7ffffffdu && feth::kTunUnitAny == 0x7fffffffu);
    auto s = connect_to(t, true);
    std::string refused;
    for (std::uint32_t unit : {feth::kTunUnitMax + 1, 0x80000000u, 0xfffffffeu, 0xffffffffu})
        refused = expect(s.get(), "unit " + hex(unit), mode_unit(2, unit), kFailedToOpen);
    const std::string max = expect(s.get(), "the highest unit", mode_unit(2, feth::kTunUnitMax), kConfirmed);
    const std::string any = expect(s.get(), "unit any", mode_unit(2, feth::kTunUnitAny), kConfirmed);
    return "units 0x7ffffffe, 0x80000000, 0xfffffffe, 0xffffffff: 4 x " + refused + "; unit 0x7ffffffd: " + max +
           "; unit 0x7fffffff (any): " + any;
}

// mode + unit followed by 64 KiB of other bytes: sshd reads mode and unit
// and never looks further (server_request_tun has no sshpkt_get_end), and
// so does libssh.
std::string trailing(const Target& t)
{
    auto s = connect_to(t, true);
    auto payload = mode_unit(2, feth::kTunUnitAny);
    payload.resize(payload.size() + 64 * 1024, 0xa5);
    const std::string answer = expect(s.get(), "64 KiB after mode and unit", payload, kConfirmed);
    return "mode 2 unit any + 65536 bytes: " + answer + still_works(s.get());
}

// A channel type of 64 KiB: well formed, just unknown. The server refuses
// channels it does not carry, whatever their type.
std::string long_type(const Target& t)
{
    auto s = connect_to(t, true);
    const std::string type(64 * 1024, 't');
    const std::string answer =
        expect(s.get(), "a 64 KiB channel type", mode_unit(2, feth::kTunUnitAny), kUnknownType, type.c_str());
    return "65536-byte channel type: " + answer + still_works(s.get());
}

// A channel type whose length field claims more bytes than the packet has.
// libssh cannot read the type (nor the sender's channel number behind it)
// and drops the message without a word; sshd ends the connection on it
// (sshpkt_fatal: "parse packet"). No answer can name the channel, so the
// documented answer is none, and the session must go on.
std::string type_length(const Target& t)
{
    auto s = connect_to(t, true);
    std::vector<std::uint8_t> msg{90}; // SSH_MSG_CHANNEL_OPEN
    const auto length = be32(0xfffffff0u);
    msg.insert(msg.end(), length.begin(), length.end());
    const std::string type = "tun@openssh.com";
    msg.insert(msg.end(), type.begin(), type.end());
    // sender channel, window, max packet, mode, unit
    for (std::uint32_t v : {7u, 64u * 32768u, 32768u, 2u, feth::kTunUnitAny}) {
        auto b = be32(v);
        msg.insert(msg.end(), b.begin(), b.end());
    }
    g_debug_lines.clear();
    if (raw_send_message(s.get(), msg.data(), msg.size()) != SSH_OK)
        throw Failure("the session ended while sending: " + std::string(ssh_get_error(s.get())));
    if (!pump_for(s.get(), 2)) throw Failure("the session ended: " + std::string(ssh_get_error(s.get())));
    if (!g_debug_lines.empty()) throw Failure("unexpected debug line " + quote(g_debug_lines.front()));
    return "type length 0xfffffff0 in a " + std::to_string(msg.size()) + "-byte open: no answer in 2 s, session alive" +
           still_works(s.get());
}

// A channel open after key exchange, before user authentication: libssh's
// packet filter rejects it, and feth-sshd ends the session with
// SSH_MSG_DISCONNECT (sshd instead answers SSH_MSG_UNIMPLEMENTED and goes
// on; neither opens anything).
std::string preauth(const Target& t)
{
    auto s = connect_to(t, false);
    auto payload = mode_unit(2, feth::kTunUnitAny);
    if (raw_send_channel_open(s.get(), "tun@openssh.com", 7, payload.data(), payload.size()) != SSH_OK)
        throw Failure("the session ended while sending: " + std::string(ssh_get_error(s.get())));
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        if (raw_process(s.get(), 100) == SSH_OK) continue;
        const std::string err = ssh_get_error(s.get());
        if (err.rfind("Received SSH_MSG_DISCONNECT:", 0) == 0)
            return "tun open before authentication: disconnected (" + err + ")";
        // The server closes right after its DISCONNECT; when both arrive in
        // one poll, libssh's error says "Socket error: disconnected" but the
        // message was read.
        if (const char* msg = raw_peer_disconnect_message(s.get()))
            return "tun open before authentication: disconnected (SSH_MSG_DISCONNECT \"" + std::string(msg) +
                   "\", then the end of the stream)";
        throw Failure("the session ended without SSH_MSG_DISCONNECT: " + err);
    }
    throw Failure("the server neither answered nor closed the connection within 10 s");
}

// ---- malformed publickey requests ------------------------------------------

void put_wire_string(std::vector<std::uint8_t>& out, std::string_view text)
{
    const auto len = be32(static_cast<std::uint32_t>(text.size()));
    out.insert(out.end(), len.begin(), len.end());
    out.insert(out.end(), text.begin(), text.end());
}

// SSH_MSG_USERAUTH_REQUEST, publickey with a signature, up to the algorithm
// name: what follows decides how it is malformed.
std::vector<std::uint8_t> publickey_request_head(const Target& t)
{
    std::vector<std::uint8_t> p{50};
    put_wire_string(p, t.user);
    put_wire_string(p, "ssh-connection");
    put_wire_string(p, "publickey");
    p.push_back(1);
    put_wire_string(p, "ssh-ed25519");
    return p;
}

// After key exchange and the "none" request that asks for the ssh-userauth
// service, as a client starts.
SessionPtr connect_for_raw_auth(const Target& t)
{
    auto s = connect_to(t, false);
    if (ssh_userauth_none(s.get(), nullptr) == SSH_AUTH_ERROR)
        throw NoConnection("the none request failed: " + std::string(ssh_get_error(s.get())));
    return s;
}

// One hand-made request: the answer, or RAW_AUTH_NONE once the connection
// ended (libssh marks authentication failed when it ends, so an answer
// read together with the end is not told apart from none).
raw_auth_result send_raw_auth(ssh_session s, const std::vector<std::uint8_t>& payload)
{
    raw_auth_reset(s);
    if (raw_send_message(s, payload.data(), payload.size()) != SSH_OK) return RAW_AUTH_NONE;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        const raw_auth_result answer = raw_auth_answer(s);
        if (answer != RAW_AUTH_NONE) return answer;
        if (raw_process(s, 100) != SSH_OK) return RAW_AUTH_NONE;
    }
    throw Failure("no answer and no end of the connection within 10 s");
}

// Whether the connection ends within `seconds` (nothing more is sent).
bool connection_ends(ssh_session s, int seconds)
{
    const auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (Clock::now() < deadline)
        if (raw_process(s, 100) != SSH_OK) return true;
    return false;
}

std::string disconnect_text(ssh_session s)
{
    const char* msg = raw_peer_disconnect_message(s);
    return msg != nullptr ? "SSH_MSG_DISCONNECT \"" + std::string(msg) + "\"" : "the end of the stream";
}

// sshd counts a publickey request whose key blob does not parse as a failed
// attempt, and ends the connection on one that does not parse at all. Key
// blobs that do not parse, one at a time: each of the first max_auth_tries
// answered USERAUTH_FAILURE (the last one may be cut short), then the
// connection ends, before another request is answered. Then, on a new
// connection, a request truncated after its algorithm name: the end at once.
std::string malformed_auth(const Target& t, int max_auth_tries)
{
    std::string out;
    {
        auto s = connect_for_raw_auth(t);
        auto unreadable = publickey_request_head(t);
        put_wire_string(unreadable, "not a key");
        put_wire_string(unreadable, "not a signature");
        int failures = 0;
        bool ended = false;
        for (int i = 0; i < max_auth_tries + 5 && !ended; ++i) {
            const raw_auth_result answer = send_raw_auth(s.get(), unreadable);
            if (answer == RAW_AUTH_FAILURE) ++failures;
            else if (answer != RAW_AUTH_NONE)
                throw Failure("request " + std::to_string(i + 1) + " with an unreadable key was answered " +
                              std::to_string(answer) + ", not USERAUTH_FAILURE");
            // After the limit the server's disconnect follows the answer.
            ended = answer == RAW_AUTH_NONE || (failures == max_auth_tries && connection_ends(s.get(), 5));
        }
        if (!ended)
            throw Failure(std::to_string(failures) + " requests with an unreadable key answered USERAUTH_FAILURE, "
                          "and the connection goes on (MaxAuthTries " + std::to_string(max_auth_tries) + ")");
        if (failures < max_auth_tries - 1)
            throw Failure("the connection ended after " + std::to_string(failures) +
                          " failures, before MaxAuthTries " + std::to_string(max_auth_tries));
        out = std::to_string(failures) + " unreadable keys answered USERAUTH_FAILURE, then " + disconnect_text(s.get());
    }
    {
        auto s = connect_for_raw_auth(t);
        const auto truncated = publickey_request_head(t);
        const raw_auth_result answer = send_raw_auth(s.get(), truncated);
        if (answer != RAW_AUTH_NONE)
            throw Failure("a request truncated after its algorithm was answered " + std::to_string(answer) +
                          " and the connection goes on");
        out += "; a truncated request: no answer, " + disconnect_text(s.get());
    }
    return out;
}

// `count` opens back to back, then every answer: the first `limit` (the
// per-connection tunnel limit) are confirmed, every other one refused with
// sshd's "Failed to open the tunnel device.".
std::string flood(const Target& t, int count, int limit)
{
    auto s = connect_to(t, true);
    std::vector<ChannelPtr> channels;
    const auto payload = mode_unit(2, feth::kTunUnitAny);
    g_debug_lines.clear();
    for (int i = 0; i < count; ++i) {
        ChannelPtr c(raw_channel_opening(s.get()));
        if (!c) throw Failure("cannot make channel object " + std::to_string(i));
        if (raw_send_channel_open(s.get(), "tun@openssh.com", raw_channel_local_id(c.get()), payload.data(),
                                  payload.size()) != SSH_OK)
            throw Failure("the session ended after " + std::to_string(i) + " opens: " + ssh_get_error(s.get()));
        channels.push_back(std::move(c));
    }
    auto count_in = [&](raw_open_state st) {
        int n = 0;
        for (auto& c : channels) n += raw_channel_state(c.get()) == st ? 1 : 0;
        return n;
    };
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (count_in(RAW_OPENING) > 0 && Clock::now() < deadline)
        if (raw_process(s.get(), 100) != SSH_OK)
            throw Failure("the session ended while answers came in: " + std::string(ssh_get_error(s.get())));
    const int open = count_in(RAW_OPEN), denied = count_in(RAW_DENIED), pending = count_in(RAW_OPENING);
    int debug_ok = 0;
    for (const auto& d : g_debug_lines) debug_ok += d == kFailedToOpen.debug ? 1 : 0;
    const std::string got = std::to_string(open) + " confirmed, " + std::to_string(denied) + " refused, " +
                            std::to_string(pending) + " unanswered, " + std::to_string(debug_ok) + " of " +
                            std::to_string(g_debug_lines.size()) + " debug lines " + quote(kFailedToOpen.debug);
    if (open != limit || denied != count - limit || pending != 0 || debug_ok != denied ||
        g_debug_lines.size() != static_cast<std::size_t>(denied))
        throw Failure(std::to_string(count) + " opens: " + got + "; expected " + std::to_string(limit) +
                      " confirmed and the rest refused, each with its debug line");
    return std::to_string(count) + " opens: " + got;
}

// After a good open: runt frames and frames above the tunnel's frame limit
// (but within the channel's max packet) are dropped by the server's pump
// and the tunnel stays open; then one good frame, which the pump must still
// write to the device; then a message above the max packet the server
// advertised, which it must not pass on. With `go_file`, the frames go
// only once that file exists: the test brings the server's device up
// first, so that the good frame's write can succeed (a tap that is down
// refuses writes with EIO) and the server's close line counts 8 frames in,
// 7 dropped.
std::string frames(const Target& t, const std::string& go_file)
{
    auto s = connect_to(t, true);
    ChannelPtr c(ssh_channel_new(s.get()));
    if (!c || ssh_channel_open_tun(c.get(), SSH_TUN_MODE_ETHERNET, feth::kTunUnitAny) != SSH_OK)
        throw Failure("the tunnel did not open: " + std::string(ssh_get_error(s.get())));
    const std::uint32_t remote = raw_channel_remote_id(c.get());
    const std::uint32_t maxpacket = raw_channel_remote_maxpacket(c.get());
    if (maxpacket <= feth::wire::kMaxFrame + 1 || maxpacket > 256 * 1024)
        throw Failure("the server advertised max packet " + std::to_string(maxpacket) +
                      ": cannot send a frame above the frame limit within it");
    const auto go_deadline = Clock::now() + std::chrono::seconds(30);
    while (!go_file.empty() && ::access(go_file.c_str(), F_OK) != 0) {
        if (Clock::now() >= go_deadline) throw Failure(go_file + " did not appear within 30 s");
        if (raw_process(s.get(), 100) != SSH_OK) throw Failure("the session ended right after the open");
    }

    auto tunnel_up = [&] { return ssh_channel_is_open(c.get()) && !ssh_channel_is_eof(c.get()); };
    const std::vector<std::uint8_t> runt(feth::wire::kEthernetHeaderLen - 1, 0x11);
    const std::vector<std::uint8_t> big(feth::wire::kMaxFrame + 1, 0x22);
    for (int i = 0; i < 3; ++i) {
        if (raw_send_channel_data(s.get(), remote, runt.data(), runt.size()) != SSH_OK ||
            raw_send_channel_data(s.get(), remote, big.data(), big.size()) != SSH_OK)
            throw Failure("the session ended sending bad frames: " + std::string(ssh_get_error(s.get())));
    }
    if (!pump_for(s.get(), 1) || !tunnel_up()) throw Failure("the tunnel ended over runt/oversized frames");

    // A good frame: Ethernet broadcast, IEEE local experimental ethertype.
    std::vector<std::uint8_t> good(60, 0);
    for (std::size_t i = 0; i < 6; ++i) good[i] = 0xff;
    good[6] = 0x02; // locally administered source
    good[12] = 0x88;
    good[13] = 0xb5;
    if (raw_send_channel_data(s.get(), remote, good.data(), good.size()) != SSH_OK)
        throw Failure("the session ended sending a good frame");
    if (!pump_for(s.get(), 0.5) || !tunnel_up()) throw Failure("the tunnel ended after a good frame");

    // The MTU rule (L4): on the test's MTU-1500 tap the largest frame the
    // server writes is 1500 + 14 + a 4-byte VLAN tag; one byte more is
    // dropped and counted as above the MTU.
    constexpr std::size_t kLargestAtMtu1500 = 1500 + feth::wire::kEthernetHeaderLen + 4;
    std::vector<std::uint8_t> over_mtu(kLargestAtMtu1500 + 1, 0x44);
    std::copy(good.begin(), good.begin() + 14, over_mtu.begin());
    std::vector<std::uint8_t> at_mtu(kLargestAtMtu1500, 0x55);
    std::copy(good.begin(), good.begin() + 14, at_mtu.begin());
    if (raw_send_channel_data(s.get(), remote, over_mtu.data(), over_mtu.size()) != SSH_OK ||
        raw_send_channel_data(s.get(), remote, at_mtu.data(), at_mtu.size()) != SSH_OK)
        throw Failure("the session ended sending frames around the MTU");
    if (!pump_for(s.get(), 0.5) || !tunnel_up()) throw Failure("the tunnel ended over a frame above the MTU");

    const std::vector<std::uint8_t> huge(maxpacket + 1024, 0x33);
    if (raw_send_channel_data(s.get(), remote, huge.data(), huge.size()) != SSH_OK)
        throw Failure("the session ended sending above max packet: " + std::string(ssh_get_error(s.get())));
    if (!pump_for(s.get(), 1) || !tunnel_up())
        throw Failure(std::to_string(huge.size()) + " bytes above max packet " + std::to_string(maxpacket) +
                      " ended the tunnel or session; documented: dropped, tunnel open");
    return "3 runt (" + std::to_string(runt.size()) + " bytes) + 3 above the frame limit (" +
           std::to_string(big.size()) + " bytes) + 1 good + 1 above the MTU (" + std::to_string(over_mtu.size()) +
           " bytes) + 1 at the MTU (" + std::to_string(at_mtu.size()) + " bytes) + 1 above max packet " +
           std::to_string(maxpacket) + " (" + std::to_string(huge.size()) + " bytes): no answer, tunnel open";
}

// The output bound (M3): a tun channel whose window is 4 GiB - 1, then
// silence. After the open this client reads nothing for `hold_s` seconds,
// with a receive buffer shrunk to what the kernel allows, so that what the
// server sends piles up on its side; `ready_file` is created once the
// channel is open and the reading has stopped. Frames the test sends into
// the server's device then have nowhere to go but the server child's
// memory, unless the child stops reading its device.
// stall's early release (SIGUSR1).
volatile sig_atomic_t g_released = 0;
extern "C" void on_release(int) { g_released = 1; }

std::string stall(const Target& t, const std::string& ready_file, int hold_s)
{
    auto s = connect_to(t, true);
    ChannelPtr c(raw_channel_opening(s.get()));
    if (!c) throw Failure("cannot make a channel object: " + std::string(ssh_get_error(s.get())));
    constexpr std::uint32_t kHugeWindow = 0xffffffffu;
    std::vector<std::uint8_t> msg{90}; // SSH_MSG_CHANNEL_OPEN
    const std::string type = "tun@openssh.com";
    auto tl = be32(static_cast<std::uint32_t>(type.size()));
    msg.insert(msg.end(), tl.begin(), tl.end());
    msg.insert(msg.end(), type.begin(), type.end());
    // sender channel, window, max packet, mode, unit
    for (std::uint32_t v : {raw_channel_local_id(c.get()), kHugeWindow, 32768u, 2u, feth::kTunUnitAny}) {
        auto b = be32(v);
        msg.insert(msg.end(), b.begin(), b.end());
    }
    if (raw_send_message(s.get(), msg.data(), msg.size()) != SSH_OK)
        throw Failure("the session ended sending the open: " + std::string(ssh_get_error(s.get())));
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (raw_channel_state(c.get()) == RAW_OPENING && Clock::now() < deadline)
        if (raw_process(s.get(), 100) != SSH_OK) break;
    if (raw_channel_state(c.get()) != RAW_OPEN) throw Failure("the tunnel with a 4 GiB window was not confirmed");

    int small = 4096; // the kernel doubles it and keeps a floor
    if (::setsockopt(ssh_get_fd(s.get()), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) != 0)
        throw Failure(std::string("setsockopt(SO_RCVBUF): ") + std::strerror(errno));
    // SIGUSR1 ends the hold early: the test sends it once it has measured,
    // rather than waiting out a hold sized for a slow (sanitized) build.
    // Caught and blocked before the ready file names this process, so it
    // cannot kill us; taken only inside pselect (macOS has no
    // sigtimedwait), whose wait is cut into seconds in case a system's
    // pselect unblocks it non-atomically.
    struct sigaction on_usr1 {};
    on_usr1.sa_handler = on_release;
    sigemptyset(&on_usr1.sa_mask);
    sigset_t release;
    sigset_t before;
    sigemptyset(&release);
    sigaddset(&release, SIGUSR1);
    if (::sigaction(SIGUSR1, &on_usr1, nullptr) != 0 || ::sigprocmask(SIG_BLOCK, &release, &before) != 0)
        throw Failure(std::string("SIGUSR1 handling: ") + std::strerror(errno));
    sigset_t waiting = before;
    sigdelset(&waiting, SIGUSR1);
    if (!ready_file.empty()) {
        const int fd = ::open(ready_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) throw Failure("cannot create " + ready_file + ": " + std::strerror(errno));
        const std::string pid = std::to_string(::getpid()) + "\n";
        const bool written = ::write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
        ::close(fd);
        if (!written) throw Failure("cannot write " + ready_file);
    }
    // Not reading: no libssh call touches the session while we hold it.
    const auto start = Clock::now();
    const auto hold_end = start + std::chrono::seconds(hold_s);
    while (g_released == 0 && Clock::now() < hold_end) {
        const auto left = std::min<long long>(
            1000, std::chrono::duration_cast<std::chrono::milliseconds>(hold_end - Clock::now()).count());
        if (left <= 0) break;
        const timespec wait{static_cast<time_t>(left / 1000), static_cast<long>(left % 1000) * 1000000L};
        ::pselect(0, nullptr, nullptr, nullptr, &wait, &waiting);
    }
    const bool released = g_released != 0;
    const auto held = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count();
    return "window " + hex(kHugeWindow) + ", receive buffer " + std::to_string(small) + ", not read for " +
           std::to_string(held) + " s" + (released ? " (released by SIGUSR1)" : "");
}

void touch(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw Failure("cannot create " + path + ": " + std::strerror(errno));
    ::close(fd);
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// Not hostile: an honest client with three Ethernet tunnels on one
// connection, each pumped to a local tap (tapN for unit N), as feth-ssh
// would. Tunnel 0 opens first; `dir`/up0 is created once it carries
// frames. When `dir`/go exists the open of tunnel 1 is sent and the loop
// goes on (tunnel 0's pump, a keepalive@openssh.com every second) until
// the server answers it; the server's keepalives and the answers to ours
// that came meanwhile are counted. Then `dir`/up1, and the open of
// tunnel 2, whose refusal (the test's up hook fails for it) must come with
// sshd's debug line; `dir`/done then, and the loop runs until `dir`/stop
// exists (at most 120 s).
std::string slow_tunnel(const Target& t, const std::string& dir, unsigned min_keepalives)
{
    auto s = connect_to(t, true);
    auto open_blocking = [&](ssh_channel c, std::uint32_t unit) {
        return ssh_channel_open_tun(c, SSH_TUN_MODE_ETHERNET, unit);
    };
    ChannelPtr c0(ssh_channel_new(s.get()));
    if (!c0 || open_blocking(c0.get(), 0) != SSH_OK)
        throw Failure("tunnel 0 did not open: " + std::string(ssh_get_error(s.get())));
    ssh_set_blocking(s.get(), 0);
    feth::EventPtr event(ssh_event_new());
    if (!event || ssh_event_add_session(event.get(), s.get()) != SSH_OK) throw Failure("cannot make an event");
    std::vector<std::unique_ptr<feth::Device>> devices;
    std::vector<std::unique_ptr<feth::TunnelPump>> pumps;
    auto add_pump = [&](ChannelPtr c, std::uint32_t unit) {
        devices.push_back(feth::open_device(feth::DeviceRequest{feth::TunMode::Ethernet, unit, "auto", 0}));
        pumps.push_back(std::make_unique<feth::TunnelPump>(s.get(), std::move(c), *devices.back(),
                                                           "tunnel " + std::to_string(unit), feth::PumpLimits{}));
        pumps.back()->attach(event.get());
    };
    add_pump(std::move(c0), 0);
    touch(dir + "/up0");

    enum class Step { WaitGo, Opening1, Opening2, Done } step = Step::WaitGo;
    ChannelPtr pending;
    unsigned keepalives_at_open = 0, answers_at_open = 0, keepalives_waiting = 0, answers_waiting = 0;
    std::size_t debug_at_open2 = 0;
    std::string refused2;
    auto next_keepalive = Clock::now();
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (Clock::now() < deadline) {
        int timeout = 100;
        for (auto& p : pumps) timeout = feth::sooner_timeout(timeout, p->poll_timeout_ms());
        if (ssh_event_dopoll(event.get(), timeout) == SSH_ERROR)
            throw Failure("the session ended: " + std::string(ssh_get_error(s.get())));
        for (auto& p : pumps) {
            p->service();
            if (p->finished()) throw Failure(p->label() + " ended: " + p->end_reason());
        }
        if (!ssh_is_connected(s.get())) throw Failure("the server closed the connection");
        if (Clock::now() >= next_keepalive) {
            ssh_send_keepalive(s.get());
            next_keepalive = Clock::now() + std::chrono::seconds(1);
        }
        switch (step) {
        case Step::WaitGo:
            if (!exists(dir + "/go")) break;
            pending.reset(ssh_channel_new(s.get()));
            keepalives_at_open = g_server_keepalives;
            answers_at_open = g_keepalive_answers;
            step = Step::Opening1;
            [[fallthrough]];
        case Step::Opening1: {
            const int rc = open_blocking(pending.get(), 1);
            if (rc == SSH_AGAIN) break;
            if (rc != SSH_OK) throw Failure("tunnel 1 was refused: " + std::string(ssh_get_error(s.get())));
            keepalives_waiting = g_server_keepalives - keepalives_at_open;
            answers_waiting = g_keepalive_answers - answers_at_open;
            // The test holds the hook for 10 s or more; with ClientAliveInterval
            // 1 and one keepalive of ours a second, a connection whose loop ran
            // meanwhile saw several of each; a blocked one, none.
            if (keepalives_waiting < min_keepalives || answers_waiting < min_keepalives)
                throw Failure("while tunnel 1 waited for its up hook the server sent " +
                              std::to_string(keepalives_waiting) + " keepalives and answered " +
                              std::to_string(answers_waiting) + " of ours (expected at least " +
                              std::to_string(min_keepalives) + " each)");
            add_pump(std::move(pending), 1);
            touch(dir + "/up1");
            pending.reset(ssh_channel_new(s.get()));
            debug_at_open2 = g_debug_lines.size();
            step = Step::Opening2;
            break;
        }
        case Step::Opening2: {
            const int rc = open_blocking(pending.get(), 2);
            if (rc == SSH_AGAIN) break;
            if (rc == SSH_OK) throw Failure("tunnel 2 opened although its up hook fails");
            for (std::size_t i = debug_at_open2; i < g_debug_lines.size(); ++i) refused2 += g_debug_lines[i];
            if (refused2 != "Failed to open the tunnel device.")
                throw Failure("tunnel 2 was refused with debug lines " + quote(refused2));
            pending.reset();
            touch(dir + "/done");
            step = Step::Done;
            break;
        }
        case Step::Done:
            if (exists(dir + "/stop"))
                return "tunnel 1 waited for its up hook while the server sent " + std::to_string(keepalives_waiting) +
                       " keepalives and answered " + std::to_string(answers_waiting) +
                       " of ours; tunnel 2 refused with " + quote(refused2);
            break;
        }
    }
    throw Failure("not done within 120 s");
}

} // namespace

int main(int argc, char** argv)
{
    Target t;
    int count = 500;
    int limit = 10;
    std::string go_file;
    CLI::App app{"bad_client: hostile inputs for feth-sshd's tests", "bad_client"};
    app.add_option("--host", t.host, "server address")->required();
    app.add_option("--port", t.port, "server port");
    app.add_option("--user", t.user, "user name");
    app.add_option("--identity", t.identity, "private key file")->required();
    app.require_subcommand(1);
    auto* sc_trunc = app.add_subcommand("truncated", "tun opens with 0-7 bytes of mode and unit");
    auto* sc_mode = app.add_subcommand("bad-mode", "tun opens with unknown modes");
    auto* sc_unit = app.add_subcommand("bad-unit", "tun opens with units beyond the maximum, the maximum, any");
    auto* sc_trail = app.add_subcommand("trailing", "a tun open with 64 KiB after mode and unit");
    auto* sc_ltype = app.add_subcommand("long-type", "a channel open whose type is 64 KiB long");
    auto* sc_tlen = app.add_subcommand("type-length", "a channel open whose type length exceeds the packet");
    auto* sc_pre = app.add_subcommand("preauth", "a tun open before authentication");
    auto* sc_flood = app.add_subcommand("flood", "many tun opens without waiting");
    sc_flood->add_option("--count", count, "opens to send");
    sc_flood->add_option("--limit", limit, "tunnels the server allows per connection");
    int max_auth_tries = 6;
    auto* sc_auth = app.add_subcommand("malformed-auth", "publickey requests with unreadable keys, then a truncated one");
    sc_auth->add_option("--max-auth-tries", max_auth_tries, "the server's MaxAuthTries");
    auto* sc_frames = app.add_subcommand("frames", "runt, oversized and above-max-packet frames");
    sc_frames->add_option("--go-file", go_file, "after the open, wait (up to 30 s) for this file to exist");
    std::string ready_file;
    int hold_s = 30;
    auto* sc_stall = app.add_subcommand("stall", "a tun channel with a 4 GiB window, then no reading");
    sc_stall->add_option("--ready-file", ready_file, "created once the channel is open and reading stopped");
    sc_stall->add_option("--hold", hold_s, "seconds to hold the connection without reading");
    std::string slow_dir;
    auto* sc_slow = app.add_subcommand("slow-tunnel", "three tunnels on one connection, the second one slow to come up");
    sc_slow->add_option("--dir", slow_dir, "where the steps' files are")->required();
    unsigned min_keepalives = 3;
    sc_slow->add_option("--min-keepalives", min_keepalives, "keepalives each way expected while tunnel 1 waits");
    CLI11_PARSE(app, argc, argv);

    ssh_init();
    ssh_set_log_callback(&on_log);
    const std::string name = app.get_subcommands().front()->get_name();
    int status = 0;
    try {
        std::string what;
        if (*sc_trunc) what = truncated(t);
        else if (*sc_mode) what = bad_mode(t);
        else if (*sc_unit) what = bad_unit(t);
        else if (*sc_trail) what = trailing(t);
        else if (*sc_ltype) what = long_type(t);
        else if (*sc_tlen) what = type_length(t);
        else if (*sc_pre) what = preauth(t);
        else if (*sc_flood) what = flood(t, count, limit);
        else if (*sc_auth) what = malformed_auth(t, max_auth_tries);
        else if (*sc_frames) what = frames(t, go_file);
        else if (*sc_stall) what = stall(t, ready_file, hold_s);
        else if (*sc_slow) what = slow_tunnel(t, slow_dir, min_keepalives);
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

#include "first_errors.hpp"

#include <unistd.h>

#include <cerrno>
#include <string_view>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "base/error.hpp"
#include "config/printable.hpp"

namespace feth::client {
namespace {

ServerDebugLines* g_current = nullptr;
constexpr std::string_view kDebugPacket = "Received SSH_MSG_DEBUG packet with message ";
constexpr std::string_view kAlwaysDisplay = " (always display)";
constexpr std::size_t kMaxLines = 8;

// libssh's log line: "function: Received SSH_MSG_DEBUG packet with message
// TEXT[ (always display)]".
void on_libssh_log(int, const char*, const char* buffer, void*)
{
    if (g_current == nullptr || buffer == nullptr) return;
    std::string_view line(buffer);
    const auto at = line.find(kDebugPacket);
    if (at == std::string_view::npos) return;
    line.remove_prefix(at + kDebugPacket.size());
    if (line.ends_with(kAlwaysDisplay)) line.remove_suffix(kAlwaysDisplay.size());
    g_current->keep(std::string(line));
}

bool said(const std::vector<std::string>& lines, std::string_view what)
{
    for (const auto& l : lines)
        if (l.find(what) != std::string::npos) return true;
    return false;
}

} // namespace

ServerDebugLines::ServerDebugLines() : saved_level_(ssh_get_log_level())
{
    g_current = this;
    ssh_set_log_callback(on_libssh_log);
    if (saved_level_ < SSH_LOG_DEBUG) ssh_set_log_level(SSH_LOG_DEBUG);
}

ServerDebugLines::~ServerDebugLines()
{
    ssh_set_log_level(saved_level_);
    ssh_set_log_callback(nullptr);
    g_current = nullptr;
}

void ServerDebugLines::keep(std::string line)
{
    // The server's text, shown to the user: printable, bounded.
    if (lines_.size() < kMaxLines) lines_.push_back(config::printable(line, 200));
}

std::string tunnel_refusal(const std::string& host, TunMode mode, std::uint32_t remote_unit,
                           const std::string& libssh_error, const std::vector<std::string>& server_lines)
{
    const std::string m = tun_mode_name(mode);
    std::string text = "Tunnel forwarding failed: " + host + " refused the " + m + " tunnel (" + libssh_error + ")";
    // sshd also says things about the login (authorized_keys options):
    // the lines about the tunnel are the ones that explain the refusal.
    for (const auto& l : server_lines)
        if (l.find("unnel") != std::string::npos) text += "; the server said: \"" + l + "\"";
    const std::string kind = mode == TunMode::Ethernet ? "tap" : "tun";
    const std::string unit = remote_unit == kTunUnitAny ? "any" : std::to_string(remote_unit);
    if (said(server_lines, "rejected tunnel device forwarding")) {
        text += ". Its PermitTunnel (or the key's authorized_keys options) does not allow " + m +
                " tunnels: set \"PermitTunnel " + (mode == TunMode::Ethernet ? "ethernet" : "point-to-point") +
                "\" (or yes) in the server's sshd_config";
        text += mode == TunMode::Ethernet ? ", or ask for -o Tunnel=point-to-point if it allows only that."
                                          : ", or ask for -o Tunnel=ethernet if it allows only that.";
    } else if (said(server_lines, "Failed to open the tunnel device")) {
        text += ". The server could not open " + kind + " unit " + unit +
                ": it is in use (by an earlier session of yours the server has not yet timed out: "
                "ClientAliveInterval on the server ends those; or -w LOCAL:any), or this login may not create "
                "it (a stock sshd opens it as the user: log in as root, or give the user a persistent device, "
                "e.g. ip tuntap add " + kind + (remote_unit == kTunUnitAny ? std::string("0") : unit) + " mode " +
                kind + " user NAME).";
    } else if (said(server_lines, "Unsupported tunnel device mode")) {
        text += ". The server does not know the " + m + " mode.";
    }
    return text;
}

std::string device_open_failure(const std::exception& e)
{
    // "tap%d" is the kernel's template for "the next free unit": tapN.
    std::string text = "Tunnel device open failed: ";
    for (const char* p = e.what(); *p != '\0'; ++p) {
        if (p[0] == '%' && p[1] == 'd') {
            text += 'N';
            ++p;
        } else {
            text += *p;
        }
    }
    const auto* sys = dynamic_cast<const SystemError*>(&e);
    if (::geteuid() != 0 && sys != nullptr && (sys->code() == EPERM || sys->code() == EACCES))
        text += ". Creating a tunnel device needs root: run it with sudo (feth-ssh drops to you for SSH; "
                "see feth-ssh(1)).";
    return text;
}

} // namespace feth::client

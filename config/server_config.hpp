// feth-sshd's configuration: sshd_config syntax, the subset of keywords that
// a tunnel server needs, with sshd's rules (first value wins; command-line
// values come before the file). Everything here is pure parsing so that the
// tests and the fuzzer drive it directly. The file is hostile input: every
// error names the file, the line and the keyword.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "config/algorithm_list.hpp"
#include "config/openssh_syntax.hpp" // split_arguments, parse_time_interval, parse_byte_size
#include "base/log.hpp"

namespace feth::config {

// feth-sshd's run directory (the status socket, the privilege-separation
// chroot), defined only here: macOS has no /run.
#if defined(__APPLE__)
#define FETH_SSHD_RUN_DIR "/var/run/feth-sshd"
#else
#define FETH_SSHD_RUN_DIR "/run/feth-sshd"
#endif
inline constexpr const char* kRunDir = FETH_SSHD_RUN_DIR;
inline constexpr const char* kDefaultStatusSocket = FETH_SSHD_RUN_DIR "/status.sock";

// PermitTunnel's values, as bits of OpenSSH's tunnel modes (1 = point-to-point,
// 2 = ethernet) so that `(permit & mode) == 0` means refuse.
enum PermitTunnel : unsigned {
    kPermitNo = 0,
    kPermitPointToPoint = 1,
    kPermitEthernet = 2,
    kPermitYes = 3,
};

struct ListenEndpoint {
    std::string host; // "0.0.0.0", "::", "127.0.0.1", "::1", a name
    std::uint16_t port = 0; // 0: use the Port list
};

// Who set a keyword, for sshd's "first source wins" on list keywords: all
// -o options together are one source, each applied file another.
struct SettingSource {
    std::string keyword;    // canonical spelling, e.g. "Port"
    std::string origin;     // "command line" or the file's name
    std::size_t source = 0; // 0: the command line; n: the n-th text applied
};

// sshd's MaxStartups start:rate:full.
struct MaxStartups {
    unsigned start = 10;
    unsigned rate = 30;
    unsigned full = 100;
};

// sshd 9.8's PerSourcePenalties, seconds. sshd's defaults: a source whose
// connections keep failing is refused once its penalties add up to more
// than `min`, for at most `max`. invaliduser and refuseconnection (sshd
// 10) are refused by name: feth-sshd does not tell invalid users apart
// (the monitor answers them as any failed key) and has no RefuseConnection.
struct PerSourcePenalties {
    bool enabled = true;               // "no" / "off": none
    unsigned crash = 90;               // the connection's process crashed
    unsigned authfail = 5;             // ended after failed authentication
    unsigned noauth = 1;               // ended without trying to authenticate
    unsigned grace_exceeded = 10;      // LoginGraceTime ran out
    unsigned max = 600;
    unsigned min = 15;
    unsigned max_sources4 = 65536;     // penalised IPv4 blocks kept at most
    unsigned max_sources6 = 65536;
    bool overflow_deny_all4 = false;   // overflow:deny-all (default permissive)
    bool overflow_deny_all6 = false;   // overflow6: (default: as overflow)
};

// A Match block: criteria (all must match) and the keywords it overrides.
// Only PermitTunnel, TunnelMTU, TunnelAdoptExisting and MaxTunnels may
// appear inside one.
struct MatchCriterion {
    std::string name;     // "all", "user" or "address" (lower case)
    std::string patterns; // comma-separated pattern list ("" for all)
};
struct MatchBlock {
    std::vector<MatchCriterion> criteria;
    std::optional<unsigned> permit_tunnel;
    std::optional<unsigned> tunnel_mtu; // 0: the device's default
    std::optional<unsigned> tunnel_adopt_existing; // 0 or 1
    std::optional<unsigned> max_tunnels;
    std::string where; // "<file> line <n>", for logs
};

struct ServerConfig {
    std::vector<ListenEndpoint> listen;            // ListenAddress (default: all)
    std::vector<std::uint16_t> ports;              // Port (default 22)
    std::vector<std::string> host_keys;            // HostKey
    std::vector<std::string> authorized_keys_files; // AuthorizedKeysFile
    unsigned permit_tunnel = kPermitEthernet;      // PermitTunnel (default ethernet)
    std::string pid_file;                          // PidFile ("none" -> empty)
    log::Level log_level = log::Level::Info;       // LogLevel
    std::vector<std::string> allow_users;          // AllowUsers patterns
    std::string tunnel_backend = "auto";           // TunnelBackend
    unsigned tunnel_mtu = 0;                       // TunnelMTU (0: "default", the device's own)
    // TunnelAdoptExisting: whether a pair (TunnelBackend pair or feth) that
    // feth-ssh did not make, found under the unit asked for, may carry a
    // tunnel as found. Off: a second user could otherwise join a segment
    // someone else set up (a yes/no, 0 or 1, for Match blocks' slots).
    unsigned tunnel_adopt_existing = 0;
    std::vector<std::string> deny_users;           // DenyUsers patterns
    MaxStartups max_startups;                      // MaxStartups
    unsigned per_source_max_startups = 0;          // PerSourceMaxStartups (0: none)
    unsigned per_source_masklen4 = 32;             // PerSourceNetBlockSize IPv4 part
    unsigned per_source_masklen6 = 128;            // PerSourceNetBlockSize IPv6 part
    PerSourcePenalties per_source_penalties;       // PerSourcePenalties
    std::string per_source_penalty_exempt;         // PerSourcePenaltyExemptList ("": none)
    // MaxTunnels: tunnels one user may have open at once, over all its
    // connections. 16: a few sites per user with room to spare, while one
    // stolen key cannot make thousands of root-created interfaces (each
    // one a device, a slot and two hook runs).
    unsigned max_tunnels = 16;
    unsigned login_grace_time = 120;               // LoginGraceTime, seconds; 0: none
    unsigned max_auth_tries = 6;                   // MaxAuthTries
    unsigned max_sessions = 10;                    // MaxSessions
    unsigned client_alive_interval = 0;            // ClientAliveInterval, seconds; 0: off
    unsigned client_alive_count_max = 3;           // ClientAliveCountMax
    std::string privsep_user;                      // PrivilegeSeparationUser ("": default)
    std::string tunnel_up_command;                 // TunnelUpCommand ("": none)
    std::string tunnel_down_command;               // TunnelDownCommand ("": none)
    unsigned tunnel_command_timeout = 30;          // TunnelCommandTimeout, seconds
    // Ciphers and KexAlgorithms as written (+, -, ^ as sshd; "": the
    // defaults) until finish() makes them the effective lists.
    std::string ciphers;                           // Ciphers
    std::string kex_algorithms;                    // KexAlgorithms
    std::uint64_t rekey_limit_bytes = 0;           // RekeyLimit data part (0: the cipher's default)
    unsigned rekey_limit_seconds = 0;              // RekeyLimit time part (0: none)
    std::string status_socket = kDefaultStatusSocket; // StatusSocket ("": none)
    std::vector<MatchBlock> matches;               // Match blocks, in file order

    // Which keywords have been set (canonical spelling), for first-value-wins;
    // `sources` says who set each (same order).
    std::vector<std::string> seen;
    std::vector<SettingSource> sources;
    std::size_t texts_applied = 0; // numbers the file sources

    // True when `keyword` (case-insensitive) was set by some source.
    bool was_set(std::string_view keyword) const;
};

class ConfigParser {
public:
    // `support` says which Ciphers and KexAlgorithms names the linked
    // libssh implements (feth-sshd asks libssh; tests may pretend).
    explicit ConfigParser(ServerConfig& config, AlgorithmSupport support = every_known_algorithm)
        : config_(config), support_(std::move(support))
    {
    }

    // One "-o Keyword=value" (or "Keyword value") from the command line.
    // Throws InputError: "command line: -o 'X': <problem>".
    void apply_option(std::string_view option);

    // A whole file's text; `origin` is the file name used in errors:
    // "<origin> line <n>: <problem>". Throws InputError.
    void apply_text(std::string_view text, std::string_view origin);

    // Reads and applies a file (size-limited). Throws SystemError/InputError.
    void apply_file(const std::string& path);

    // Fills defaults for everything nobody set (ports 22, listen on all
    // addresses, AuthorizedKeysFile .ssh/authorized_keys ...) and gives every
    // listen endpoint a port, so that afterwards no endpoint has port 0;
    // makes Ciphers and KexAlgorithms the effective lists (OpenSSH's server
    // defaults that libssh implements, with the +, -, ^ forms applied).
    // Throws InputError when ListenAddress x Port makes too many sockets or
    // a list is left empty.
    void finish();

    // Command-line options outrank files whatever the call order: a -o value
    // replaces a value a file set, as if the options had been applied first.
    static constexpr std::string_view kCommandLine = "command line";

private:
    struct Source; // where a line comes from: origin, line, source number
    void apply_line(std::string_view line, const Source& source);
    ServerConfig& config_;
    AlgorithmSupport support_;
    std::optional<std::size_t> match_; // the Match block lines go to, if any
};

// The effective configuration as sshd -T prints it: one "keyword value"
// line per setting, keywords in lower case, lists one line per entry.
std::string dump_config(const ServerConfig& config);

// Expands %u, %h and %% in an AuthorizedKeysFile entry; a relative result is
// taken relative to `home`. Throws InputError on an unknown % sequence.
std::string expand_authorized_keys_path(std::string_view pattern, std::string_view user,
                                        std::string_view home);

// sshd's AllowUsers: each entry is one pattern ('*' and '?',
// case-sensitive, no '!' meaning: "!x" matches only a user named "!x"); an
// empty list allows all, otherwise some entry must match.
bool user_allowed(const std::vector<std::string>& allow_users, std::string_view user);

// sshd's allowed_user() for AllowUsers and DenyUsers, in its order. Returns
// an empty string when allowed, else sshd's log reason: "listed in
// DenyUsers" or "not listed in AllowUsers". USER@HOST entries match the host
// part against the peer's address (CIDR or pattern).
std::string user_access_problem(const ServerConfig& config, std::string_view user, std::string_view address);

// PermitTunnel for this user and peer: the first matching Match block that
// sets it, else the global value.
unsigned effective_permit_tunnel(const ServerConfig& config, std::string_view user, std::string_view address);

// TunnelMTU for this user and peer, the same way (0: leave the default).
unsigned effective_tunnel_mtu(const ServerConfig& config, std::string_view user, std::string_view address);

// TunnelAdoptExisting for this user and peer, the same way.
bool effective_tunnel_adopt_existing(const ServerConfig& config, std::string_view user, std::string_view address);

// MaxTunnels for this user and peer, the same way.
unsigned effective_max_tunnels(const ServerConfig& config, std::string_view user, std::string_view address);

} // namespace feth::config

// feth-ssh's configuration in ssh_config(5) syntax and with ssh's rules, so
// that users keep their habits: -o options first, then -F FILE (or
// ~/.ssh/config), first value wins, Host blocks matched against the host
// name given on the command line. Keywords that ssh knows but a tunnel
// client does not need (ForwardAgent, ControlMaster, ...) are accepted and
// ignored, so an existing ~/.ssh/config keeps working; a keyword ssh does
// not know either is an error naming the file and line, as ssh's "Bad
// configuration option".
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/algorithm_list.hpp"
#include "tunnel/wire.hpp"

namespace feth::config {

namespace client_values {
struct TokenValues;
}

enum class StrictHostKeyChecking { Yes, AcceptNew, No, Ask };
enum class AddressFamily { Any, Inet, Inet6 };
enum class ControlMaster { No, Yes, Auto, Ask, AutoAsk };

struct TunnelDevice {
    std::uint32_t local = kTunUnitAny;  // "any" or a unit
    std::uint32_t remote = kTunUnitAny;
};

// Every field unset until a source sets it (first value wins); resolve()
// fills ssh's defaults.
struct ClientConfig {
    std::optional<std::string> host_name;             // HostName (%h expanded)
    std::optional<std::string> proxy_command;
    std::optional<std::string> proxy_jump;
    std::optional<std::string> user;                  // User
    std::optional<std::uint16_t> port;                // Port
    // IdentityFile (accumulates, duplicates dropped). Raw as written until
    // resolve_defaults() expands ~, %-tokens and ${VAR}, as ssh does when it
    // loads the keys; "none" entries suppress the defaults and are dropped.
    std::vector<std::string> identity_files;
    std::optional<bool> identities_only;              // IdentitiesOnly
    std::optional<std::string> identity_agent;        // IdentityAgent (SSH_AUTH_SOCK, none, path)
    // UserKnownHostsFile (one line, space separated; "none": empty list).
    // Raw until resolve_defaults() expands them like IdentityFile.
    std::optional<std::vector<std::string>> user_known_hosts_files;
    std::optional<StrictHostKeyChecking> strict_host_key_checking;
    std::optional<unsigned> server_alive_interval;    // seconds, 0 = off
    std::optional<unsigned> server_alive_count_max;
    std::optional<bool> exit_on_forward_failure;
    std::optional<unsigned> connect_timeout;          // seconds ("none" leaves it unset, as in ssh)
    // Tunnel: yes = point-to-point; "no" sets tunnel_disabled (it still
    // counts as set, first value wins).
    std::optional<TunMode> tunnel;
    bool tunnel_disabled = false;
    std::optional<TunnelDevice> tunnel_device;        // TunnelDevice local:remote
    std::optional<AddressFamily> address_family;      // AddressFamily / -4 / -6
    std::optional<bool> reconnect;                    // Reconnect (ours)
    std::optional<std::string> tunnel_backend;        // TunnelBackend (ours)
    std::optional<unsigned> tunnel_mtu;               // TunnelMTU (ours; 0 = "default")
    // Interface hooks (ours, after ssh's LocalCommand): the rest of the line,
    // run with /bin/sh -c when the tunnel comes up / after it went down;
    // "none" (or empty) disables. TunnelCommandTimeout in seconds (>= 1).
    std::optional<std::string> tunnel_up_command;     // TunnelUpCommand
    std::optional<std::string> tunnel_down_command;   // TunnelDownCommand
    std::optional<unsigned> tunnel_command_timeout;   // TunnelCommandTimeout
    std::optional<std::string> log_level;             // LogLevel, canonical upper case
    std::optional<bool> batch_mode;                   // BatchMode: never prompt
    // Ciphers and KexAlgorithms as written (+, -, ^ as ssh) until
    // resolve_defaults() makes them the effective lists.
    std::optional<std::string> ciphers;               // Ciphers
    std::optional<std::string> kex_algorithms;        // KexAlgorithms
    std::optional<std::uint64_t> rekey_limit;         // RekeyLimit (bytes; 0 = default)
    std::optional<std::string> ignore_unknown;        // IgnoreUnknown pattern list
    // HostKeyAlias: the name known_hosts is searched and written under
    // (instead of host or [host]:port), taken as written, as ssh does.
    std::optional<std::string> host_key_alias;
    // CertificateFile (accumulates like IdentityFile; raw until resolve).
    std::vector<std::string> certificate_files;
    // HostKeyAlgorithms, PubkeyAcceptedAlgorithms, MACs: as written (a list,
    // or +, -, ^ before one); libssh applies them to its own defaults.
    std::optional<std::string> host_key_algorithms;
    std::optional<std::string> pubkey_accepted_algorithms;
    std::optional<std::string> macs;
    std::optional<std::string> bind_address;          // BindAddress / -b
    std::optional<unsigned> connection_attempts;      // ConnectionAttempts (>= 1)
    // GlobalKnownHostsFile (one line; "none": empty list). Raw until resolve.
    std::optional<std::vector<std::string>> global_known_hosts_files;
    std::optional<bool> check_host_ip;                // CheckHostIP (ssh 9.x default no)
    std::optional<bool> hash_known_hosts;             // HashKnownHosts
    // AddKeysToAgent: "no", "yes", "ask", "confirm", each maybe with a
    // lifetime in seconds (ssh's forms: yes, confirm 1h, 30m, ...).
    std::optional<std::string> add_keys_to_agent;
    std::optional<unsigned> add_keys_to_agent_lifetime; // 0 = none
    // LocalCommand: the rest of the line, %-tokens expanded when it runs
    // (expand_local_command); only with PermitLocalCommand yes.
    std::optional<std::string> local_command;
    std::optional<bool> permit_local_command;
    // ControlMaster (yes, auto, ask, autoask: the running feth-ssh listens
    // on ControlPath for -O) and ControlPath (raw until resolve_defaults()
    // expands ~, ${VAR} and the %-tokens with %C; "none" drops it).
    std::optional<ControlMaster> control_master;
    std::optional<std::string> control_path;
};

// The ssh_config keywords feth-ssh knows (the table in
// client_keywords.cpp), each in one of three groups:
// honoured (as ssh does), accepted and ignored (cannot matter to a tunnel),
// refused (security- or path-relevant, not implemented: an error naming the
// keyword, the file and the line, unless the value is one that asks for
// what feth-ssh does anyway, such as "RevokedHostKeys none").
enum class KeywordClass { Honoured, Ignored, Refused };
struct KeywordLine; // an honoured keyword's line as its parser sees it (client_keywords.hpp)
struct DumpSource;  // what ssh -G prints from (client_keywords.hpp)
struct KeywordInfo {
    std::string_view name;      // canonical spelling, e.g. "HostKeyAlias"
    KeywordClass kind;
    std::string_view harmless;  // Refused: values still accepted, '|' separated, lower case
    std::string_view note;      // Refused: why; Ignored/Honoured: may be empty
    bool ours = false;          // not an OpenSSH keyword
    // Honoured: checks the value and stores it where the block applies
    // (none for Host, Match and Include, which steer the parser itself).
    void (*parse)(const KeywordLine&) = nullptr;
    // Honoured: the values ssh -G prints for it, one line each, in the
    // table's order, which is ssh's (none: not printed).
    std::vector<std::string> (*print)(const DumpSource&) = nullptr;
};
std::span<const KeywordInfo> client_keywords();

// ssh -G: the effective configuration, one "keyword value" line each, in
// ssh's order (readconf.c dump_client_config) as far as feth-ssh keeps
// the keyword. `raw` is the configuration before resolve_defaults() (ssh
// prints IdentityFile, CertificateFile and GlobalKnownHostsFile as
// written), `resolved` after it; `host` the destination as given.
std::string dump_client_config(const ClientConfig& raw, const ClientConfig& resolved, const std::string& host);

// LocalCommand's %-tokens as ssh expands them after the connection (%% %C
// is not supported; %d %h %i %k %L %l %n %p %r %T %u), `tun_name` for %T.
// Throws InputError for an unknown token.
struct LocalCommandTokens {
    std::string home, host, host_arg, port, remote_user, local_user, tun_name;
    std::string host_key_alias; // %k: HostKeyAlias, else the host as given
};
std::string expand_local_command(const std::string& command, const LocalCommandTokens& tokens);

class ClientConfigParser {
public:
    // `host` is the destination as given on the command line (after
    // user@), used to match Host blocks; `home` expands ~ in paths and
    // anchors relative Include paths (~/.ssh). `local_user` is for Match
    // localuser, Match user before any User is set, and %u; empty: looked
    // up from getuid().
    ClientConfigParser(ClientConfig& config, std::string host, std::string home, std::string local_user = {});

    // For fuzzing and tests: Include only reads files whose real path lies
    // under `home`; others are skipped as if missing.
    void confine_includes_to_home(bool on) { confine_includes_ = on; }

    // Match exec: runs the command (%-tokens expanded) as ssh's
    // execute_in_shell does and returns its exit status, or -1 when it did
    // not exit. Unset, a Match exec line is an error naming it (fuzzers and
    // tests never run commands by accident).
    using MatchExec = std::function<int(const std::string& command)>;
    void set_match_exec(MatchExec run) { match_exec_ = std::move(run); }

    // Which Ciphers and KexAlgorithms names the linked libssh implements
    // (feth-ssh asks libssh; by default every name OpenSSH knows).
    void set_algorithm_support(AlgorithmSupport support) { support_ = std::move(support); }

    // One -o option ("Keyword=value" or "Keyword value"). Throws InputError
    // "command-line: ...".
    void apply_option(std::string_view option);

    // A file's text with Host/Match blocks and Include. Throws InputError
    // "<origin> line <n>: Bad configuration option: <kw>" and the like.
    void apply_text(std::string_view text, const std::string& origin);

    // Reads a file (size-limited); a missing ~/.ssh/config is no error
    // (`required` false), a missing -F file is; "-F none" (path "none" with
    // `required`) reads nothing, as in ssh. Like ssh, the ~/.ssh/config case
    // (`required` false) and every included file must be owned by root or
    // the user and not writable by group or others: InputError "Bad owner
    // or permissions on <path>".
    void apply_file(const std::string& path, bool required);

    // ssh's second pass: a "Match final" seen asks for it; then the files
    // (not the -o options) are read again, with Match canonical and final
    // matching and Host lines seeing HostName, as ssh re-reads them.
    bool wants_final_pass() const { return wants_final_pass_ && !final_pass_; }
    void begin_final_pass()
    {
        final_pass_ = true;
        if (config_.host_name) host_ = *config_.host_name;
    }

private:
    struct Context; // origin, line number, include depth, flags
    void apply_lines(std::string_view text, const std::string& origin, int depth, bool never_match,
                     bool& active);
    void apply_line(std::string_view line, const Context& ctx, bool& active);
    void apply_host(const std::vector<std::string>& args, const Context& ctx, bool& active);
    void apply_match(const std::vector<std::string>& args, const Context& ctx, bool& active);
    void apply_include(const std::vector<std::string>& args, const Context& ctx, bool& active);
    void include_file(const std::string& path, const Context& ctx, bool& active);
    bool match_exec(const std::string& arg, const Context& ctx);
    client_values::TokenValues match_tokens() const;
    ClientConfig& config_;
    std::string host_;          // what Host lines match: the host as given, HostName in the final pass
    std::string original_host_; // the host as given (Match originalhost, %n)
    std::string home_;
    std::string local_user_;
    bool confine_includes_ = false;
    bool wants_final_pass_ = false;
    bool final_pass_ = false;
    AlgorithmSupport support_ = every_known_algorithm;
    MatchExec match_exec_;
};

// Fills ssh's defaults for what no source set: Port 22, HostName = host,
// User = the local user, IdentityFile default_identity_files(),
// UserKnownHostsFile ~/.ssh/known_hosts ~/.ssh/known_hosts2,
// StrictHostKeyChecking ask, ServerAliveInterval 0 (15 with Reconnect yes),
// ServerAliveCountMax 3, Tunnel ethernet (our
// default, unlike ssh's point-to-point: said so in --help),
// TunnelDevice any:any, no TunnelUpCommand/TunnelDownCommand (empty),
// TunnelCommandTimeout 30, Ciphers and KexAlgorithms the effective lists
// (ssh's defaults that `support` accepts, the +, -, ^ forms applied).
// Expands ~, ${VAR} and ssh's %-tokens (%% %C %d %h %i %j %k %L %l %n %p %r
// %u) in IdentityFile, UserKnownHostsFile, IdentityAgent and ControlPath, as ssh does
// once the configuration is complete; call it once. Throws InputError for
// an unset ${VAR} or a list left empty.
void resolve_defaults(ClientConfig& config, const std::string& host, const std::string& local_user,
                      const std::string& home, const AlgorithmSupport& support = every_known_algorithm);

// IdentityFile's defaults as ssh writes them (~/.ssh/id_rsa, id_ecdsa,
// id_ed25519, in ssh's order): the ones libssh can load.
std::span<const std::string_view> default_identity_files();

// Parses "local[:remote]" units as ssh's -w: "0", "any", "0:1", "any:any".
std::optional<TunnelDevice> parse_tunnel_device(std::string_view text);

// Match localnetwork: whether an address of an interface that is up lies in
// the CIDR list (ssh's check_match_ifaddrs). Throws InputError for a
// malformed list.
bool local_network_matches(std::string_view cidr_list);

// ssh's host pattern lists (Match host): comma (or space) separated, '*'
// and '?', case-insensitive, '!' negates; a negated match makes the whole
// list not match.
bool match_host_patterns(std::string_view patterns, std::string_view host);

} // namespace feth::config

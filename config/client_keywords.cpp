// The ssh_config keywords feth-ssh knows: the table, each honoured
// keyword's parser and its ssh -G printer (client_keywords.hpp).
#include "config/client_keywords.hpp"

#include <charconv>
#include <climits>
#include <cstdint>

#include "base/log.hpp"
#include "config/algorithm_list.hpp"
#include "config/client_values.hpp"
#include "config/openssh_syntax.hpp"
#include "config/printable.hpp"
#include "tunnel/device.hpp"
#include "tunnel/mtu.hpp"

namespace feth::config {

using client_values::algorithm_shape_problem;
using client_values::check_tokens;
using client_values::kLocalCommandTokens;
using client_values::kPathTokens;
using client_values::parse_flag;
using client_values::parse_port;
using client_values::rest_of_line;
using client_values::valid_jump_hop;
using syntax::ascii_lower;
using syntax::contains;
using syntax::value_of;
using syntax::Word;
using syntax::word_of;
using syntax::iequals;

namespace {

constexpr std::size_t kMaxIdentityFiles = 100; // ssh's SSH_MAX_IDENTITY_FILES
constexpr std::size_t kMaxHostsFiles = 32;     // ssh's SSH_MAX_HOSTS_FILES

} // namespace

InputError KeywordLine::bad(const std::string& allowed) const
{
    return InputError(where + "bad value '" + printable(v, 80) + "' for " + name + " (expected " + allowed + ")");
}

InputError KeywordLine::extra_arguments() const
{
    return InputError(where + "keyword " + name + " extra arguments at end of line");
}

void KeywordLine::single() const
{
    if (v.empty()) throw InputError(where + "missing argument for " + name);
    if (args.size() > 1) throw extra_arguments();
}

void KeywordLine::flag(std::optional<bool>& field) const
{
    single();
    auto b = parse_flag(v);
    if (!b) throw bad("yes or no");
    store(field, *b);
}

void KeywordLine::seconds(std::optional<unsigned>& field) const
{
    single();
    if (v == "none") return; // ssh: leaves the option unset
    auto s = parse_time_interval(v);
    if (!s) throw bad("seconds or a time such as 30s, 5m, 1h");
    store(field, *s);
}

std::vector<std::string> KeywordLine::hosts_files(bool keep_none) const
{
    std::vector<std::string> files;
    for (const auto& a : args) {
        if (a.empty()) throw InputError(where + "keyword " + name + " empty argument");
        if (iequals(a, "none") && args.size() > 1)
            throw InputError(where + "keyword " + name + " \"none\" argument must appear alone.");
        if (auto problem = check_tokens(a, kPathTokens, true); !problem.empty())
            throw InputError(where + "bad value '" + printable(a, 80) + "' for " + name + " (expected paths; " +
                             problem + ")");
        if (keep_none || !iequals(a, "none")) files.push_back(a);
    }
    if (files.size() > kMaxHostsFiles) throw InputError(where + "too many " + name + " entries.");
    return files;
}

void KeywordLine::add_file(std::vector<std::string>& files, std::string_view what) const
{
    single();
    if (auto problem = check_tokens(v, kPathTokens, true); !problem.empty()) throw bad("a path; " + problem);
    if (!active || contains(files, v)) return;
    if (files.size() >= kMaxIdentityFiles)
        throw InputError(where + "Too many " + std::string(what) + " files specified (max " +
                         std::to_string(kMaxIdentityFiles) + ")");
    files.push_back(v);
}

namespace {

// ssh's multistate tables (readconf.c), in ssh's order (syntax::Word).
constexpr Word<AddressFamily> kAddressFamilies[] = {
    {"inet", AddressFamily::Inet}, {"inet6", AddressFamily::Inet6}, {"any", AddressFamily::Any}};
constexpr Word<StrictHostKeyChecking> kStrictHostKeyChecking[] = {
    {"true", StrictHostKeyChecking::Yes}, {"false", StrictHostKeyChecking::No},
    {"yes", StrictHostKeyChecking::Yes},  {"no", StrictHostKeyChecking::No},
    {"ask", StrictHostKeyChecking::Ask},  {"off", StrictHostKeyChecking::No},
    {"accept-new", StrictHostKeyChecking::AcceptNew}};
constexpr Word<ControlMaster> kControlMaster[] = {
    {"true", ControlMaster::Yes}, {"yes", ControlMaster::Yes},  {"false", ControlMaster::No},
    {"no", ControlMaster::No},    {"auto", ControlMaster::Auto}, {"ask", ControlMaster::Ask},
    {"autoask", ControlMaster::AutoAsk}};
// Tunnel: no mode is "no" (ssh's SSH_TUNMODE_NO); yes is point-to-point.
constexpr Word<std::optional<TunMode>> kTunnelModes[] = {
    {"ethernet", TunMode::Ethernet}, {"point-to-point", TunMode::PointToPoint}, {"true", TunMode::PointToPoint},
    {"yes", TunMode::PointToPoint},  {"false", std::nullopt},                   {"no", std::nullopt}};

// Each honoured keyword's parser: the value's syntax, then where it goes.
namespace parse {

// A value taken as written: User, BindAddress, IgnoreUnknown, HostKeyAlias
// (ssh takes even "none" as a name like any).
template <std::optional<std::string> ClientConfig::*Field>
void word(const KeywordLine& l)
{
    l.single();
    l.store(l.config.*Field, l.v);
}

template <std::optional<bool> ClientConfig::*Field>
void yes_no(const KeywordLine& l)
{
    l.flag(l.config.*Field);
}

template <std::optional<unsigned> ClientConfig::*Field>
void seconds(const KeywordLine& l)
{
    l.seconds(l.config.*Field);
}

void host_name(const KeywordLine& l)
{
    l.single();
    // ssh expands %h (the host as given) and %% in HostName, nothing else.
    if (auto problem = check_tokens(l.v, "h", false); !problem.empty()) throw l.bad("a host name; " + problem);
    std::string out;
    for (std::size_t i = 0; i < l.v.size(); ++i) {
        if (l.v[i] == '%') {
            out += l.v[++i] == 'h' ? l.host : std::string("%");
        } else {
            out += l.v[i];
        }
    }
    l.store(l.config.host_name, out);
}

void port(const KeywordLine& l)
{
    l.single();
    auto p = parse_port(l.v);
    if (!p) throw l.bad("a port from 1 to 65535 or a service name");
    l.store(l.config.port, *p);
}

void address_family(const KeywordLine& l)
{
    l.single();
    auto af = value_of(kAddressFamilies, l.v, true);
    if (!af) throw l.bad("any, inet or inet6");
    l.store(l.config.address_family, *af);
}

void strict_host_key_checking(const KeywordLine& l)
{
    l.single();
    auto m = value_of(kStrictHostKeyChecking, l.v, true);
    if (!m) throw l.bad("yes, accept-new, no, off or ask");
    l.store(l.config.strict_host_key_checking, *m);
}

void control_master(const KeywordLine& l)
{
    l.single();
    auto m = value_of(kControlMaster, l.v, true);
    if (!m) throw l.bad("yes, no, auto, ask or autoask");
    l.store(l.config.control_master, *m);
}

void control_path(const KeywordLine& l)
{
    l.single();
    if (auto problem = check_tokens(l.v, kPathTokens, true); !problem.empty())
        throw l.bad("none or a path; " + problem);
    l.store(l.config.control_path, l.v);
}

void tunnel(const KeywordLine& l)
{
    l.single();
    auto mode = value_of(kTunnelModes, l.v, true);
    if (!mode) throw l.bad("yes, point-to-point, ethernet or no");
    // "no" counts as set: a later "Tunnel yes" does not override it.
    if (l.active && !l.config.tunnel && !l.config.tunnel_disabled) {
        l.config.tunnel = *mode;
        l.config.tunnel_disabled = !*mode;
    }
}

// A count up to INT_MAX, at least `min`.
std::optional<unsigned> count(const std::string& v, unsigned long min)
{
    unsigned long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < min || n > INT_MAX) return std::nullopt;
    return static_cast<unsigned>(n);
}

void connection_attempts(const KeywordLine& l)
{
    l.single();
    auto n = count(l.v, 1);
    if (!n) throw l.bad("a count of at least 1");
    l.store(l.config.connection_attempts, *n);
}

void server_alive_count_max(const KeywordLine& l)
{
    l.single();
    auto n = count(l.v, 0);
    if (!n) throw l.bad("a count");
    l.store(l.config.server_alive_count_max, *n);
}

// Ciphers, KexAlgorithms: ssh checks the names as it reads the line ("Bad
// SSH2 cipher spec"); resolve_defaults() applies the value to the defaults.
template <AlgorithmKind Kind, std::optional<std::string> ClientConfig::*Field>
void implemented_algorithms(const KeywordLine& l)
{
    l.single();
    if (auto problem = algorithm_list_problem(l.v, Kind, l.support); !problem.empty())
        throw InputError(l.where + bad_algorithm_list(Kind, l.v, problem));
    l.store(l.config.*Field, l.v);
}

// HostKeyAlgorithms, MACs, PubkeyAcceptedAlgorithms: the shape here; libssh
// checks the names against what it implements when the session takes them
// (connect.cpp).
template <std::optional<std::string> ClientConfig::*Field>
void algorithm_list(const KeywordLine& l)
{
    l.single();
    if (auto problem = algorithm_shape_problem(l.v); !problem.empty()) throw l.bad("an algorithm list; " + problem);
    l.store(l.config.*Field, l.v);
}

void identity_agent(const KeywordLine& l)
{
    l.single();
    if (auto problem = check_tokens(l.v, kPathTokens, true); !problem.empty())
        throw l.bad("none, SSH_AUTH_SOCK, $VARIABLE or a path; " + problem);
    l.store(l.config.identity_agent, l.v);
}

void local_command(const KeywordLine& l)
{
    // The rest of the line, verbatim (ssh), its tokens checked now.
    std::string cmd = rest_of_line(l.line);
    if (auto problem = check_tokens(cmd, kLocalCommandTokens, true); !problem.empty())
        throw l.bad("a command; " + problem);
    l.store(l.config.local_command, cmd);
}

void log_level(const KeywordLine& l)
{
    l.single();
    auto level = log::parse_level(l.v);
    if (!level) throw l.bad("QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3");
    std::string upper(l.v);
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    l.store(l.config.log_level, upper);
}

void identity_file(const KeywordLine& l) { l.add_file(l.config.identity_files, "identity"); }

void certificate_file(const KeywordLine& l) { l.add_file(l.config.certificate_files, "certificate"); }

void global_known_hosts_file(const KeywordLine& l)
{
    l.store(l.config.global_known_hosts_files, l.hosts_files(true));
}

void user_known_hosts_file(const KeywordLine& l) { l.store(l.config.user_known_hosts_files, l.hosts_files(false)); }

void add_keys_to_agent(const KeywordLine& l)
{
    // ssh's forms: yes, no, ask, confirm; "confirm <time>"; a time alone
    // (yes, with that lifetime).
    if (l.args.size() > 2) throw l.extra_arguments();
    const std::string& v = l.v;
    std::string mode;
    if (iequals(v, "yes") || iequals(v, "true")) mode = "yes";
    else if (iequals(v, "no") || iequals(v, "false")) mode = "no";
    else if (iequals(v, "ask")) mode = "ask";
    else if (iequals(v, "confirm")) mode = "confirm";
    std::optional<unsigned> lifetime = 0u;
    if (mode == "confirm" && l.args.size() == 2) lifetime = parse_time_interval(l.args[1]);
    else if (mode.empty() && l.args.size() == 1) {
        lifetime = parse_time_interval(v);
        mode = "yes";
    } else if (l.args.size() == 2) lifetime.reset();
    if (mode.empty() || !lifetime) throw l.bad("yes, no, ask, confirm, confirm TIME or a TIME");
    if (l.active && !l.config.add_keys_to_agent) {
        l.config.add_keys_to_agent = mode;
        l.config.add_keys_to_agent_lifetime = *lifetime;
    }
}

void tunnel_device(const KeywordLine& l)
{
    l.single();
    auto d = parse_tunnel_device(l.v);
    if (!d) throw l.bad("local[:remote], each a unit number up to " + std::to_string(kTunUnitMax) + " or any");
    l.store(l.config.tunnel_device, *d);
}

void rekey_limit(const KeywordLine& l)
{
    // ssh: "default" or a size of at least 16 bytes, then an optional time
    // ("none" or a time), which we check and ignore.
    if (l.args.size() > 2) throw l.extra_arguments();
    std::optional<std::uint64_t> bytes = l.v == "default" ? std::optional<std::uint64_t>(0) : parse_byte_size(l.v);
    if (!bytes || (*bytes != 0 && *bytes < 16)) throw l.bad("default or a size of at least 16, such as 1G");
    if (l.args.size() == 2 && l.args[1] != "none" && !parse_time_interval(l.args[1]))
        throw InputError(l.where + "bad value '" + printable(l.args[1], 80) + "' for " + l.name +
                         " (expected none or a time such as 1h)");
    l.store(l.config.rekey_limit, *bytes);
}

// ProxyCommand and ProxyJump as ssh's readconf: first value wins, and they
// exclude each other (whichever is set first; "none" counts as set).
bool proxy_taken(const ClientConfig& c) { return c.proxy_command || c.proxy_jump; }

// ProxyJump's syntax is checked in every block, its tokens (%h %n %p %r)
// where it applies (client/proxy).
void proxy_jump(const KeywordLine& l)
{
    const std::string& v = l.v;
    if (!iequals(v, "none")) {
        std::string_view rest = v;
        while (true) {
            auto comma = rest.find(',');
            if (!valid_jump_hop(rest.substr(0, comma)))
                throw InputError(l.where + "Invalid ProxyJump \"" + printable(v, 80) +
                                 "\" (expected [user@]host[:port] or ssh://[user@]host[:port], comma separated)");
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    if (l.active && !proxy_taken(l.config)) l.config.proxy_jump = iequals(v, "none") ? std::string("none") : v;
}

// ProxyCommand is the rest of the line, for /bin/sh.
void proxy_command(const KeywordLine& l)
{
    std::string cmd = rest_of_line(l.line);
    if (cmd.empty()) throw InputError(l.where + "missing argument for ProxyCommand");
    if (!l.active || proxy_taken(l.config)) return;
    if (auto problem = check_tokens(cmd, "hnpr", false); !problem.empty())
        throw InputError(l.where + "bad value '" + printable(cmd, 80) + "' for ProxyCommand (" + problem + ")");
    l.config.proxy_command = cmd;
}

void tunnel_backend(const KeywordLine& l)
{
    l.single();
    if (!is_backend_name(l.v)) throw l.bad(backend_names_text());
    l.store(l.config.tunnel_backend, l.v);
}

void tunnel_mtu(const KeywordLine& l)
{
    l.single();
    auto m = mtu::parse(l.v);
    if (!m) throw l.bad(mtu::expected());
    l.store(l.config.tunnel_mtu, *m);
}

// TunnelUpCommand, TunnelDownCommand: the rest of the line, verbatim, for
// /bin/sh (as ssh's LocalCommand); "none" is none.
template <std::optional<std::string> ClientConfig::*Field>
void hook_command(const KeywordLine& l)
{
    std::string cmd = rest_of_line(l.line);
    if (iequals(cmd, "none")) cmd.clear();
    l.store(l.config.*Field, cmd);
}

void tunnel_command_timeout(const KeywordLine& l)
{
    l.single();
    auto s = parse_time_interval(l.v);
    if (!s || *s == 0) throw l.bad("a time of at least 1 s, such as 30 or 2m");
    l.store(l.config.tunnel_command_timeout, *s);
}

} // namespace parse

// Each honoured keyword's ssh -G printer: its values in the resolved
// configuration, as ssh's dump_client_config prints them; none, no line.
namespace print {

using Values = std::vector<std::string>;

Values host(const DumpSource& d) { return {d.host}; }

// What resolve_defaults() always sets.
template <std::optional<std::string> ClientConfig::*Field>
Values resolved(const DumpSource& d)
{
    return {*(d.c.*Field)};
}

template <std::optional<std::string> ClientConfig::*Field>
Values if_set(const DumpSource& d)
{
    if (!(d.c.*Field)) return {};
    return {*(d.c.*Field)};
}

template <std::optional<bool> ClientConfig::*Field>
Values yes_no(const DumpSource& d)
{
    return {(d.c.*Field).value_or(false) ? "yes" : "no"};
}

template <std::optional<unsigned> ClientConfig::*Field>
Values number(const DumpSource& d)
{
    return {std::to_string(*(d.c.*Field))};
}

Values port(const DumpSource& d) { return {std::to_string(*d.c.port)}; }

Values address_family(const DumpSource& d) { return {std::string(word_of(kAddressFamilies, *d.c.address_family))}; }

Values strict_host_key_checking(const DumpSource& d)
{
    return {std::string(word_of(kStrictHostKeyChecking, *d.c.strict_host_key_checking))};
}

Values tunnel(const DumpSource& d) { return {std::string(word_of(kTunnelModes, d.c.tunnel))}; }

Values control_master(const DumpSource& d)
{
    return {std::string(word_of(kControlMaster, d.c.control_master.value_or(ControlMaster::No)))};
}

Values log_level(const DumpSource& d) { return {d.c.log_level.value_or("INFO")}; }

// IdentityFile and CertificateFile as written, as ssh -G prints them (it
// expands them when it loads them); IdentityFile's defaults if none was.
Values identity_file(const DumpSource& d)
{
    if (!d.raw.identity_files.empty()) return d.raw.identity_files;
    Values v;
    for (std::string_view f : default_identity_files()) v.emplace_back(f);
    return v;
}

Values certificate_file(const DumpSource& d) { return d.raw.certificate_files; }

// One line: the files space-separated, or none.
std::string file_list(const std::vector<std::string>& files)
{
    std::string s;
    for (const auto& f : files) s += (s.empty() ? "" : " ") + f;
    return s.empty() ? std::string("none") : s;
}

Values global_known_hosts_file(const DumpSource& d)
{
    return {file_list(d.raw.global_known_hosts_files ? *d.raw.global_known_hosts_files
                                                     : *d.c.global_known_hosts_files)};
}

Values user_known_hosts_file(const DumpSource& d) { return {file_list(*d.c.user_known_hosts_files)}; }

Values add_keys_to_agent(const DumpSource& d)
{
    const unsigned life = d.c.add_keys_to_agent_lifetime.value_or(0);
    const std::string& ak = *d.c.add_keys_to_agent;
    if (life == 0) return {ak == "yes" ? "true" : ak == "no" ? "false" : ak};
    return {(ak == "confirm" ? "confirm " : "") + std::to_string(life)};
}

Values connect_timeout(const DumpSource& d)
{
    return {*d.c.connect_timeout == 0 ? "none" : std::to_string(*d.c.connect_timeout)};
}

Values tunnel_device(const DumpSource& d)
{
    auto unit = [](std::uint32_t u) { return u == kTunUnitAny ? std::string("any") : std::to_string(u); };
    return {unit(d.c.tunnel_device->local) + ":" + unit(d.c.tunnel_device->remote)};
}

Values rekey_limit(const DumpSource& d) { return {std::to_string(d.c.rekey_limit.value_or(0)) + " 0"}; }

// ProxyJump wins when both were somehow set, as in ssh -G.
Values proxy_command(const DumpSource& d)
{
    if (!d.c.proxy_command || d.c.proxy_jump) return {};
    return {*d.c.proxy_command};
}

Values tunnel_backend(const DumpSource& d) { return {d.c.tunnel_backend.value_or("auto")}; }

Values tunnel_mtu(const DumpSource& d)
{
    return {d.c.tunnel_mtu && *d.c.tunnel_mtu != 0 ? std::to_string(*d.c.tunnel_mtu) : "default"};
}

template <std::optional<std::string> ClientConfig::*Field>
Values hook_command(const DumpSource& d)
{
    return {(d.c.*Field)->empty() ? "none" : *(d.c.*Field)};
}

} // namespace print

// Every keyword of OpenSSH's readconf.c keywords[] table (the deprecated
// and unsupported ones included: ssh accepts all of them), Apple's
// UseKeychain, and ours; each honoured, accepted and ignored, or refused
// (client_config.hpp). An honoured keyword comes with its parser and its
// -G printer, in the order ssh -G prints them (readconf.c
// dump_client_config), ours after ssh's: dump_client_config() walks the
// table. docs/feth-ssh.1 lists the three groups and
// tests/packaging/man_pages_test.sh checks it against this table: one entry
// a line, as `{"Name", H|I|R`.
constexpr auto H = KeywordClass::Honoured;
constexpr auto I = KeywordClass::Ignored;
constexpr auto R = KeywordClass::Refused;
using C = ClientConfig;
constexpr KeywordInfo kKeywords[] = {
    // The destination: ssh -G's first lines. Match and Include steer the
    // parser and print nothing.
    {"Host", H, "", "", false, nullptr, print::host},
    {"Match", H, "", "", false},
    {"Include", H, "", "", false},
    {"User", H, "", "", false, parse::word<&C::user>, print::resolved<&C::user>},
    {"HostName", H, "", "", false, parse::host_name, print::resolved<&C::host_name>},
    {"Port", H, "", "", false, parse::port, print::port},
    // Choices and flags.
    {"AddressFamily", H, "", "", false, parse::address_family, print::address_family},
    {"BatchMode", H, "", "", false, parse::yes_no<&C::batch_mode>, print::yes_no<&C::batch_mode>},
    {"CheckHostIP", H, "", "", false, parse::yes_no<&C::check_host_ip>, print::yes_no<&C::check_host_ip>},
    {"ControlMaster", H, "", "", false, parse::control_master, print::control_master},
    {"ExitOnForwardFailure", H, "", "", false, parse::yes_no<&C::exit_on_forward_failure>,
     print::yes_no<&C::exit_on_forward_failure>},
    {"HashKnownHosts", H, "", "", false, parse::yes_no<&C::hash_known_hosts>, print::yes_no<&C::hash_known_hosts>},
    {"IdentitiesOnly", H, "", "", false, parse::yes_no<&C::identities_only>, print::yes_no<&C::identities_only>},
    {"PermitLocalCommand", H, "", "", false, parse::yes_no<&C::permit_local_command>,
     print::yes_no<&C::permit_local_command>},
    {"StrictHostKeyChecking", H, "", "", false, parse::strict_host_key_checking, print::strict_host_key_checking},
    {"Tunnel", H, "", "", false, parse::tunnel, print::tunnel},
    // Numbers.
    {"ConnectionAttempts", H, "", "", false, parse::connection_attempts, print::number<&C::connection_attempts>},
    {"ServerAliveCountMax", H, "", "", false, parse::server_alive_count_max, print::number<&C::server_alive_count_max>},
    {"ServerAliveInterval", H, "", "", false, parse::seconds<&C::server_alive_interval>,
     print::number<&C::server_alive_interval>},
    // Strings and algorithm lists.
    {"BindAddress", H, "", "", false, parse::word<&C::bind_address>, print::if_set<&C::bind_address>},
    {"Ciphers", H, "", "", false, parse::implemented_algorithms<AlgorithmKind::Cipher, &C::ciphers>,
     print::resolved<&C::ciphers>},
    {"ControlPath", H, "", "", false, parse::control_path, print::if_set<&C::control_path>},
    {"HostKeyAlgorithms", H, "", "", false, parse::algorithm_list<&C::host_key_algorithms>,
     print::if_set<&C::host_key_algorithms>},
    {"HostKeyAlias", H, "", "", false, parse::word<&C::host_key_alias>, print::if_set<&C::host_key_alias>},
    {"IdentityAgent", H, "", "", false, parse::identity_agent, print::if_set<&C::identity_agent>},
    {"IgnoreUnknown", H, "", "", false, parse::word<&C::ignore_unknown>, print::if_set<&C::ignore_unknown>},
    {"KexAlgorithms", H, "", "", false, parse::implemented_algorithms<AlgorithmKind::Kex, &C::kex_algorithms>,
     print::resolved<&C::kex_algorithms>},
    {"LocalCommand", H, "", "", false, parse::local_command, print::if_set<&C::local_command>},
    {"LogLevel", H, "", "", false, parse::log_level, print::log_level},
    {"MACs", H, "", "", false, parse::algorithm_list<&C::macs>, print::if_set<&C::macs>},
    {"PubkeyAcceptedAlgorithms", H, "", "", false, parse::algorithm_list<&C::pubkey_accepted_algorithms>,
     print::if_set<&C::pubkey_accepted_algorithms>},
    // ssh's old name for PubkeyAcceptedAlgorithms (printed under the new one).
    {"PubkeyAcceptedKeyTypes", H, "", "", false, parse::algorithm_list<&C::pubkey_accepted_algorithms>},
    // Files.
    {"IdentityFile", H, "", "", false, parse::identity_file, print::identity_file},
    {"CertificateFile", H, "", "", false, parse::certificate_file, print::certificate_file},
    {"GlobalKnownHostsFile", H, "", "", false, parse::global_known_hosts_file, print::global_known_hosts_file},
    {"UserKnownHostsFile", H, "", "", false, parse::user_known_hosts_file, print::user_known_hosts_file},
    // The rest of ssh's, in its -G order.
    {"AddKeysToAgent", H, "", "", false, parse::add_keys_to_agent, print::add_keys_to_agent},
    {"ConnectTimeout", H, "", "", false, parse::seconds<&C::connect_timeout>, print::connect_timeout},
    {"TunnelDevice", H, "", "", false, parse::tunnel_device, print::tunnel_device},
    {"RekeyLimit", H, "", "", false, parse::rekey_limit, print::rekey_limit},
    {"ProxyJump", H, "", "run by the connect path (client/proxy)", false, parse::proxy_jump,
     print::if_set<&C::proxy_jump>},
    {"ProxyCommand", H, "", "run by the connect path (client/proxy)", false, parse::proxy_command,
     print::proxy_command},
    // Ours, after ssh's.
    {"Reconnect", H, "", "", true, parse::yes_no<&C::reconnect>, print::yes_no<&C::reconnect>},
    {"TunnelBackend", H, "", "", true, parse::tunnel_backend, print::tunnel_backend},
    {"TunnelMTU", H, "", "", true, parse::tunnel_mtu, print::tunnel_mtu},
    {"TunnelUpCommand", H, "", "", true, parse::hook_command<&C::tunnel_up_command>,
     print::hook_command<&C::tunnel_up_command>},
    {"TunnelDownCommand", H, "", "", true, parse::hook_command<&C::tunnel_down_command>,
     print::hook_command<&C::tunnel_down_command>},
    {"TunnelCommandTimeout", H, "", "", true, parse::tunnel_command_timeout,
     print::number<&C::tunnel_command_timeout>},
    // Refused: security- or path-relevant, not implemented. The harmless
    // values ask for what feth-ssh does anyway.
    {"BindInterface", R, "", "binding to an interface is not implemented; BindAddress is", false},
    {"CanonicalizeHostname", R, "no|false", "host name canonicalisation is not implemented", false},
    {"CASignatureAlgorithms", R, "", "host certificates are checked against ssh's default list", false},
    {"KnownHostsCommand", R, "none", "known_hosts commands are not run", false},
    {"PKCS11Provider", R, "none", "PKCS#11 keys are not supported", false},
    {"SmartcardDevice", R, "none", "PKCS#11 keys are not supported", false},
    {"SecurityKeyProvider", R, "internal", "FIDO security keys are not supported", false},
    {"PubkeyAuthentication", R, "yes|true|unbound|host-bound", "feth-ssh authenticates with public keys only", false},
    {"RevokedHostKeys", R, "none", "revoked host key lists are not checked", false},
    {"RequiredRSASize", R, "1024", "the RSA key size limit is libssh's own", false},
    {"VerifyHostKeyDNS", R, "no|false", "SSHFP lookups are not implemented", false},
    {"ProxyUseFdpass", R, "no|false", "the proxy command's socket is not passed back", false},
    {"RefuseConnection", R, "no|false", "feth-ssh refuses by not connecting", false},

    // Accepted and ignored: cannot matter to a tunnel (or only tighten
    // what feth-ssh does anyway).
    {"UseKeychain", I, "", "Apple's ssh: keys come from the agent or the files", false},
    {"CanonicalDomains", I, "", "", false},
    {"CanonicalizeFallbackLocal", I, "", "", false},
    {"CanonicalizeMaxDots", I, "", "", false},
    {"CanonicalizePermittedCNames", I, "", "", false},
    {"ChallengeResponseAuthentication", I, "", "", false},
    {"ChannelTimeout", I, "", "", false},
    {"ClearAllForwardings", I, "", "", false},
    {"Compression", I, "", "", false},
    {"CompressionLevel", I, "", "", false},
    {"ControlPersist", I, "", "", false},
    {"DynamicForward", I, "", "", false},
    {"EnableEscapeCommandline", I, "", "", false},
    {"EnableSSHKeysign", I, "", "", false},
    {"EscapeChar", I, "", "", false},
    {"FingerprintHash", I, "", "", false},
    {"ForkAfterAuthentication", I, "", "", false},
    {"ForwardAgent", I, "", "", false},
    {"ForwardX11", I, "", "", false},
    {"ForwardX11Timeout", I, "", "", false},
    {"ForwardX11Trusted", I, "", "", false},
    {"GatewayPorts", I, "", "", false},
    {"GSSAPIAuthentication", I, "", "", false},
    {"GSSAPIDelegateCredentials", I, "", "", false},
    {"HostbasedAcceptedAlgorithms", I, "", "", false},
    {"HostbasedAuthentication", I, "", "", false},
    {"HostbasedKeyTypes", I, "", "", false},
    {"IPQoS", I, "", "", false},
    {"KbdInteractiveAuthentication", I, "", "", false},
    {"KbdInteractiveDevices", I, "", "", false},
    {"LocalForward", I, "", "", false},
    {"LogVerbose", I, "", "", false},
    {"NoHostAuthenticationForLocalhost", I, "", "", false},
    {"NumberOfPasswordPrompts", I, "", "", false},
    {"ObscureKeystrokeTiming", I, "", "", false},
    {"PasswordAuthentication", I, "", "", false},
    {"PermitRemoteOpen", I, "", "", false},
    {"PreferredAuthentications", I, "", "", false},
    {"RemoteCommand", I, "", "", false},
    {"RemoteForward", I, "", "", false},
    {"RequestTTY", I, "", "", false},
    {"SendEnv", I, "", "", false},
    {"SessionType", I, "", "", false},
    {"SetEnv", I, "", "", false},
    {"StdinNull", I, "", "", false},
    {"StreamLocalBindMask", I, "", "", false},
    {"StreamLocalBindUnlink", I, "", "", false},
    {"SyslogFacility", I, "", "", false},
    {"Tag", I, "", "", false},
    {"TCPKeepAlive", I, "", "", false},
    {"KeepAlive", I, "", "", false},
    {"UpdateHostKeys", I, "", "", false},
    {"VersionAddendum", I, "", "", false},
    {"VisualHostKey", I, "", "", false},
    {"WarnWeakCrypto", I, "", "", false},
    {"XAuthLocation", I, "", "", false},
    // Deprecated or unsupported in OpenSSH itself (it ignores them too).
    {"AFSTokenPassing", I, "", "", false},
    {"Cipher", I, "", "", false},
    {"DSAAuthentication", I, "", "", false},
    {"FallBackToRsh", I, "", "", false},
    {"GlobalKnownHostsFile2", I, "", "", false},
    {"IdentityFile2", I, "", "", false},
    {"KerberosAuthentication", I, "", "", false},
    {"KerberosTGTPassing", I, "", "", false},
    {"Protocol", I, "", "", false},
    {"RhostsAuthentication", I, "", "", false},
    {"RhostsRSAAuthentication", I, "", "", false},
    {"RSAAuthentication", I, "", "", false},
    {"SKeyAuthentication", I, "", "", false},
    {"TISAuthentication", I, "", "", false},
    {"UsePrivilegedPort", I, "", "", false},
    {"UseRoaming", I, "", "", false},
    {"UseRsh", I, "", "", false},
    {"UserKnownHostsFile2", I, "", "", false},
};

// Every honoured keyword but the directives has a parser, and only
// honoured ones have a parser or a printer.
constexpr bool keyword_table_complete()
{
    for (const auto& k : kKeywords) {
        const bool honoured = k.kind == KeywordClass::Honoured;
        if (honoured && k.parse == nullptr && !is_directive(k.name)) return false;
        if (!honoured && (k.parse != nullptr || k.print != nullptr)) return false;
    }
    return true;
}
static_assert(keyword_table_complete(), "an honoured client keyword without its parser, or a parser on another");

} // namespace

const KeywordInfo* find_client_keyword(std::string_view lower_kw) { return syntax::find_keyword(kKeywords, lower_kw); }

std::span<const KeywordInfo> client_keywords() { return kKeywords; }

std::string dump_client_config(const ClientConfig& raw, const ClientConfig& c, const std::string& host)
{
    const DumpSource source{raw, c, host};
    std::string out;
    for (const auto& k : kKeywords) {
        if (k.print == nullptr) continue;
        const std::string keyword = ascii_lower(k.name);
        for (const auto& value : k.print(source)) out.append(keyword).append(" ").append(value).append("\n");
    }
    return out;
}

} // namespace feth::config

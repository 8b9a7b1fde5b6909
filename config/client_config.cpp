// ssh_config(5) for feth-ssh, with the rules of OpenSSH's readconf.c: the
// lines, first value wins, Host/Match/Include, ssh's defaults; each
// keyword's parser and -G printer are in client_keywords.cpp, the value
// syntaxes they share in client_values.cpp.
// Config files are hostile input (Include can pull in anything the user can
// read): lines, files and include depth are bounded and every error names the
// origin, the line and the keyword, with hostile text escaped.
#include "config/client_config.hpp"

#include <glob.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "config/algorithm_list.hpp"
#include "config/client_keywords.hpp"
#include "config/client_values.hpp"
#include "config/match.hpp"
#include "config/openssh_syntax.hpp"
#include "config/printable.hpp"
#include "base/error.hpp"
#include "base/log.hpp"

namespace feth::config {

namespace {

using client_values::check_tokens;
using client_values::expand_tilde;
using client_values::expand_tokens;
using client_values::kLocalCommandTokens;
using client_values::kPathTokens;
using client_values::TokenValues;
using syntax::ascii_lower;
using syntax::contains;
using syntax::iequals;
using syntax::kMaxFileSize;
using syntax::kMaxLineLength;
constexpr int kMaxIncludeDepth = 16;          // ssh's READCONF_MAX_DEPTH
constexpr std::size_t kMaxIncludedFiles = 4096; // per top-level source
const std::string kCommandLine = "command-line"; // ssh's origin for -o

constexpr unsigned kDefaultTunnelCommandTimeout = 30;
constexpr unsigned kReconnectAliveInterval = 15; // ServerAliveInterval with Reconnect yes


std::string user_from_uid()
{
    passwd pw{};
    passwd* found = nullptr;
    std::array<char, 4096> buf{};
    if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return {};
    return found->pw_name;
}

// ssh's reading of a config file: one that does not exist reads as empty
// with `missing` set, a directory as empty (ssh's getline on one just
// stops), a FIFO without a writer cannot hang us, and ~/.ssh/config and
// what it includes must pass SSHCONF_CHECKPERM (`check_perm`).
std::string read_config_file(const std::string& path, bool check_perm, bool& missing)
{
    syntax::ReadRules rules;
    rules.missing_is_empty = true;
    rules.directory_is_empty = true;
    rules.check_owner = check_perm;
    rules.nonblocking = true;
    syntax::BoundedFile file = syntax::read_bounded_file(path, "config file " + printable(path, 4096), rules);
    missing = file.missing;
    if (file.text.size() > kMaxFileSize)
        throw InputError(printable(path, 4096) + ": file larger than " + std::to_string(kMaxFileSize) + " bytes");
    return std::move(file.text);
}

} // namespace

struct ClientConfigParser::Context {
    const std::string& origin;
    std::size_t lineno;
    int depth;
    bool never_match;  // ssh's SSHCONF_NEVERMATCH: an Include read inside an inactive block
    bool command_line; // -o
    std::size_t* included; // files included so far from this top-level source
    std::string where() const { return printable(origin, 4096) + " line " + std::to_string(lineno) + ": "; }
};

bool local_network_matches(std::string_view cidr_list)
{
    if (addr_match_list("127.0.0.1", cidr_list) == -2)
        throw InputError("Match localnetwork: bad address list '" + printable(cidr_list, 80) + "'");
    struct ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) throw InputError("Match localnetwork: getifaddrs: " + errno_text(errno));
    std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> guard(list, &::freeifaddrs);
    for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == nullptr || (ifa->ifa_flags & IFF_UP) == 0) continue;
        const int family = ifa->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        char addr[NI_MAXHOST] = "";
        const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        if (::getnameinfo(ifa->ifa_addr, len, addr, sizeof addr, nullptr, 0, NI_NUMERICHOST) != 0) continue;
        std::string_view a(addr);
        if (auto pct = a.find('%'); pct != std::string_view::npos) a = a.substr(0, pct); // fe80::1%eth0
        if (addr_match_list(a, cidr_list) == 1) return true;
    }
    return false;
}

std::span<const std::string_view> default_identity_files()
{
    // ssh's list (readconf.c fill_default_options) in its order, less the
    // key types libssh cannot load here (security keys, XMSS, DSA,
    // ML-DSA): those files would only be tried and fail.
    static constexpr std::string_view kFiles[] = {"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519"};
    return kFiles;
}

bool match_host_patterns(std::string_view patterns, std::string_view host)
{
    // Whitespace separates patterns here as commas do: one comma list of
    // the non-empty pieces for match_pattern_list.
    std::string list;
    std::size_t i = 0;
    while (i < patterns.size()) {
        std::size_t end = patterns.find_first_of(", \t", i);
        if (end == std::string_view::npos) end = patterns.size();
        if (end > i) list.append(list.empty() ? "" : ",").append(patterns.substr(i, end - i));
        i = end + 1;
    }
    return !list.empty() && match_pattern_list(ascii_lower(host), list, true) == 1;
}

std::optional<TunnelDevice> parse_tunnel_device(std::string_view text)
{
    auto unit = [](std::string_view s) { return iequals(s, "any") ? std::optional(kTunUnitAny) : parse_tun_unit(s); };
    TunnelDevice dev;
    std::string_view local = text;
    std::string_view remote = "any";
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        local = text.substr(0, colon);
        remote = text.substr(colon + 1);
    }
    auto l = unit(local);
    auto r = unit(remote);
    if (!l || !r) return std::nullopt;
    dev.local = *l;
    dev.remote = *r;
    return dev;
}


ClientConfigParser::ClientConfigParser(ClientConfig& config, std::string host, std::string home,
                                       std::string local_user)
    : config_(config), host_(std::move(host)), home_(std::move(home)), local_user_(std::move(local_user))
{
    original_host_ = host_;
    if (local_user_.empty()) local_user_ = user_from_uid();
}

void ClientConfigParser::apply_option(std::string_view option)
{
    std::size_t included = 0;
    Context ctx{kCommandLine, 0, 0, false, true, &included};
    // One -o is one line: a newline would smuggle in a second one.
    if (option.find_first_of("\r\n") != std::string_view::npos)
        throw InputError(ctx.where() + "newline in option '" + printable(option, 80) + "'");
    bool active = true;
    apply_line(option, ctx, active);
}

void ClientConfigParser::apply_file(const std::string& path, bool required)
{
    if (required && path == "none") return; // ssh -F none
    bool missing = false;
    std::string text = read_config_file(path, !required, missing);
    if (missing) {
        if (required)
            throw InputError("Can't open user config file " + printable(path, 4096) + ": No such file or directory");
        return;
    }
    apply_text(text, path);
}

void ClientConfigParser::apply_text(std::string_view text, const std::string& origin)
{
    bool active = true; // lines before the first Host/Match apply to every host
    apply_lines(text, origin, 0, false, active);
}

void ClientConfigParser::apply_lines(std::string_view text, const std::string& origin, int depth, bool never_match,
                                     bool& active)
{
    if (text.size() > kMaxFileSize)
        throw InputError(printable(origin, 4096) + ": file larger than " + std::to_string(kMaxFileSize) + " bytes");
    std::size_t own_count = 0;
    std::size_t lineno = 0;
    while (!text.empty()) {
        ++lineno;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        Context ctx{origin, lineno, depth, never_match, false, &own_count};
        apply_line(line, ctx, active);
    }
}


void ClientConfigParser::apply_line(std::string_view line, const Context& ctx, bool& active)
{
    if (line.find('\0') != std::string_view::npos) throw InputError(ctx.where() + "NUL byte in line");
    if (line.size() > kMaxLineLength)
        throw InputError(ctx.where() + "line longer than " + std::to_string(kMaxLineLength) + " bytes");
    std::vector<std::string> words;
    try {
        words = split_arguments(line);
    } catch (const InputError& e) {
        throw InputError(ctx.where() + e.what());
    }
    if (words.empty()) return;
    const std::string kw = ascii_lower(words[0]);
    std::vector<std::string> args(words.begin() + 1, words.end());
    if (args.empty())
        throw InputError(ctx.where() + "no argument after keyword \"" + printable(words[0], 80) + "\"");

    // ssh looks the keyword up before anything else, also in blocks that do
    // not apply, so a typo is reported whatever host is given.
    const KeywordInfo* info = find_client_keyword(kw);
    if (info == nullptr) {
        if (config_.ignore_unknown && match_pattern_list(kw, *config_.ignore_unknown, true) == 1) return;
        throw InputError(ctx.where() + "Bad configuration option: " + printable(words[0], 80));
    }
    const std::string name(info->name);
    if (info->kind == KeywordClass::Ignored) {
        if (kw == "usekeychain") LOG_DEBUG("%sUseKeychain accepted and ignored (Apple's ssh option)", ctx.where().c_str());
        return;
    }
    if (info->kind == KeywordClass::Refused) {
        // Only where the block applies: a Host block for another host
        // cannot stop this connection.
        if (!active || ctx.never_match) return;
        std::string value = ascii_lower(args[0]);
        for (std::size_t i = 1; i < args.size(); ++i) value += " " + ascii_lower(args[i]);
        std::string_view harmless = info->harmless;
        while (!harmless.empty()) {
            auto bar = harmless.find('|');
            if (harmless.substr(0, bar) == value) return;
            harmless = bar == std::string_view::npos ? std::string_view{} : harmless.substr(bar + 1);
        }
        throw InputError(ctx.where() + std::string(info->name) + " " + printable(args[0], 80) +
                         " is not supported by feth-ssh (" + std::string(info->note) +
                         ")");
    }
    if (is_directive(info->name)) {
        if (ctx.command_line) throw InputError(ctx.where() + name + " directive not supported as a command-line option");
        if (kw == "match") return apply_match(args, ctx, active);
        if (kw == "include") return apply_include(args, ctx, active);
        return apply_host(args, ctx, active);
    }
    info->parse(KeywordLine{config_, support_, host_, line, name, args, args[0], ctx.where(), active});
}

// Host: each argument is one pattern (ssh's match_pattern, case sensitive,
// no comma lists); a negated match makes the line not apply whatever else
// matched.
void ClientConfigParser::apply_host(const std::vector<std::string>& args, const Context& ctx, bool& active)
{
    active = false;
    for (const auto& pat : args) {
        if (pat.empty()) throw InputError(ctx.where() + "keyword Host empty argument");
        if (ctx.never_match) break;
        bool negate = pat[0] == '!';
        if (match_pattern(host_, std::string_view(pat).substr(negate ? 1 : 0))) {
            if (negate) {
                active = false;
                break;
            }
            active = true;
        }
    }
}

// ssh's match_cfg_line. Evaluated: all, host, originalhost, user, localuser,
// canonical and final (begin_final_pass()), localnetwork (the interfaces'
// addresses now) and exec (through set_match_exec, only when every
// criterion before it matched, as ssh). Criteria that refer to ssh's own
// state (tagged, command, sessiontype, version) are recognised but treated
// as not matching, whatever '!' says. A criterion ssh does not know (e.g.
// sshd's address, localaddress, localport, rdomain) is an error, as in ssh.
void ClientConfigParser::apply_match(const std::vector<std::string>& args, const Context& ctx, bool& active)
{
    static constexpr std::string_view kWithArgument[] = {"host",    "originalhost", "user",   "localuser",
                                                         "localnetwork", "version", "tagged", "command",
                                                         "exec",    "sessiontype"};
    static constexpr std::string_view kUnevaluated[] = {"version", "tagged", "command", "sessiontype"};
    auto fail = [&](const std::string& what) { throw InputError(ctx.where() + "Bad Match condition: " + what); };
    // Match host sees HostName once set (with %h expanded), as in ssh.
    const std::string& host = config_.host_name ? *config_.host_name : host_;
    const std::string& ruser = config_.user ? *config_.user : local_user_;
    bool result = true;
    bool unevaluated = false;
    std::size_t attributes = 0;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string attrib = args[i];
        bool negate = !attrib.empty() && attrib[0] == '!';
        if (negate) attrib.erase(0, 1);
        std::string lattr = ascii_lower(attrib);
        if (lattr == "all") {
            // ssh: alone, or after canonical/final ("Match final all").
            if (attributes > 1 || i + 1 < args.size())
                fail("'" + printable(args[i], 80) + "' cannot be combined with other Match attributes");
            if (negate) result = false;
            // "Match all" alone counts as an attribute.
            ++attributes;
            break;
        }
        ++attributes;
        if (lattr == "canonical" || lattr == "final") {
            // ssh without host name canonicalisation (feth-ssh refuses
            // CanonicalizeHostname): both match in the second pass, which
            // a "Match final" asks for.
            if (lattr == "final") wants_final_pass_ = true;
            if (final_pass_ == negate) result = false;
            continue;
        }
        std::string arg;
        auto eq = lattr.find('=');
        if (eq != std::string::npos && contains(kWithArgument, std::string_view(lattr).substr(0, eq))) {
            arg = attrib.substr(eq + 1);
            lattr.resize(eq);
        } else if (!contains(kWithArgument, lattr)) {
            fail("Unsupported Match attribute " + printable(attrib, 80));
        } else if (i + 1 >= args.size()) {
            fail("missing argument for Match '" + printable(args[i], 80) + "'");
        } else {
            arg = args[++i];
        }
        if (arg.empty() && lattr != "tagged" && lattr != "command")
            fail("Missing Match criteria for " + printable(attrib, 80));
        bool r = false;
        if (lattr == "host") {
            r = match_pattern_list(ascii_lower(host), arg, true) == 1;
        } else if (lattr == "originalhost") {
            r = match_pattern_list(ascii_lower(original_host_), arg, true) == 1;
        } else if (lattr == "user") {
            r = match_pattern_list(ruser, arg, false) == 1;
        } else if (lattr == "localuser") {
            r = match_pattern_list(local_user_, arg, false) == 1;
        } else if (lattr == "localnetwork") {
            try {
                r = local_network_matches(arg);
            } catch (const InputError& e) {
                fail(e.what());
            }
        } else if (lattr == "exec") {
            if (!result || ctx.never_match) continue; // ssh: not run once a criterion failed
            r = match_exec(arg, ctx);
        } else if (contains(kUnevaluated, lattr)) {
            unevaluated = true; // ssh's own state: never looked up
            continue;
        }
        if (r == negate) result = false;
    }
    if (attributes == 0) fail("One or more attributes required for Match");
    active = !ctx.never_match && result && !unevaluated;
}

// Match exec's command: ssh's tokens expanded (expand_match_exec_or_include_path,
// without ${VAR}), run through set_match_exec's runner; exit 0 matches.
bool ClientConfigParser::match_exec(const std::string& arg, const Context& ctx)
{
    if (!match_exec_) throw InputError(ctx.where() + "Match exec: commands are not run here");
    if (auto problem = check_tokens(arg, kPathTokens, false); !problem.empty())
        throw InputError(ctx.where() + "Match exec '" + printable(arg, 80) + "': " + problem);
    std::string command;
    try {
        command = expand_tokens(arg, match_tokens(), false, "Match exec");
    } catch (const InputError& e) {
        throw InputError(ctx.where() + e.what());
    }
    const int status = match_exec_(command);
    if (status < 0) throw InputError(ctx.where() + "match exec '" + printable(command, 100) + "' error");
    return status == 0;
}

// The %-tokens Include paths and Match exec see: the configuration so far.
TokenValues ClientConfigParser::match_tokens() const
{
    TokenValues tokens;
    tokens.home = home_;
    tokens.host = config_.host_name ? *config_.host_name : host_;
    tokens.host_arg = original_host_;
    tokens.port = std::to_string(config_.port.value_or(22));
    tokens.remote_user = config_.user ? *config_.user : local_user_;
    tokens.local_user = local_user_;
    return tokens;
}

void ClientConfigParser::apply_include(const std::vector<std::string>& args, const Context& ctx, bool& active)
{
    if (ctx.depth >= kMaxIncludeDepth)
        throw InputError(ctx.where() + "Include nested too deeply (more than " + std::to_string(kMaxIncludeDepth) +
                         " levels)");
    const TokenValues tokens = match_tokens();
    for (const auto& pattern : args) {
        if (pattern.empty()) throw InputError(ctx.where() + "keyword Include empty argument");
        if (auto problem = check_tokens(pattern, kPathTokens, true); !problem.empty())
            throw InputError(ctx.where() + "bad value '" + printable(pattern, 80) + "' for Include (" + problem + ")");
        std::string path;
        try {
            path = expand_tokens(pattern, tokens, true, "Include");
        } catch (const InputError& e) {
            throw InputError(ctx.where() + e.what());
        }
        // ssh: relative paths live in ~/.ssh; "~" is the user's home (ssh
        // lets glob's GLOB_TILDE do it; we expand ~ and ~/ ourselves, with
        // the home we were given, and ~user through getpwnam).
        if (path[0] == '~') {
            try {
                path = expand_tilde(path, home_, "Include");
            } catch (const InputError& e) {
                throw InputError(ctx.where() + e.what());
            }
        } else if (path[0] != '/') {
            path = home_ + "/.ssh/" + path;
        }
        glob_t g{};
        int r = ::glob(path.c_str(), 0, nullptr, &g);
        struct GlobFree {
            glob_t& g;
            ~GlobFree() { ::globfree(&g); }
        } free_glob{g};
        if (r == GLOB_NOMATCH) continue; // a missing include is fine
        if (r != 0) throw InputError(ctx.where() + "glob failed for " + printable(path, 4096));
        for (std::size_t i = 0; i < g.gl_pathc; ++i) include_file(g.gl_pathv[i], ctx, active);
    }
}

void ClientConfigParser::include_file(const std::string& path, const Context& ctx, bool& active)
{
    if (confine_includes_) {
        char* real = ::realpath(path.c_str(), nullptr);
        char* real_home = ::realpath(home_.c_str(), nullptr);
        bool inside = real != nullptr && real_home != nullptr &&
                      std::string_view(real).substr(0, std::strlen(real_home) + 1) == std::string(real_home) + "/";
        std::free(real);
        std::free(real_home);
        if (!inside) return;
    }
    if (++*ctx.included > kMaxIncludedFiles)
        throw InputError(ctx.where() + "more than " + std::to_string(kMaxIncludedFiles) + " included files");
    bool missing = false;
    std::string text;
    try {
        text = read_config_file(path, true, missing);
    } catch (const InputError& e) {
        throw InputError(ctx.where() + e.what());
    }
    if (missing) return;
    // As in ssh, the included file shares the includer's active state (a
    // Host line in it stays in force after it), and a file included from a
    // block that does not apply is parsed but none of its Host or Match
    // lines can match.
    bool never_match = ctx.never_match || !active;
    std::size_t lineno = 0;
    std::string_view rest = text;
    while (!rest.empty()) {
        ++lineno;
        std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        Context inner{path, lineno, ctx.depth + 1, never_match, false, ctx.included};
        apply_line(line, inner, active);
    }
}

void resolve_defaults(ClientConfig& c, const std::string& host, const std::string& local_user, const std::string& home,
                      const AlgorithmSupport& support)
{
    if (!c.host_name) c.host_name = host;
    if (!c.user) c.user = local_user;
    if (!c.port) c.port = 22;

    TokenValues tokens;
    tokens.home = home;
    tokens.host = *c.host_name;
    tokens.host_arg = host;
    tokens.port = std::to_string(*c.port);
    tokens.remote_user = *c.user;
    tokens.local_user = local_user;
    auto expand_path = [&](const std::string& p, std::string_view what) {
        return expand_tokens(expand_tilde(p, home, what), tokens, true, what);
    };

    // ssh: the defaults only when no IdentityFile was given at all, and
    // "IdentityFile none" then drops out, leaving possibly no file.
    if (c.identity_files.empty()) {
        for (std::string_view f : default_identity_files())
            c.identity_files.push_back(expand_tilde(std::string(f), home, "IdentityFile"));
    } else {
        std::vector<std::string> files;
        for (const auto& f : c.identity_files) {
            if (iequals(f, "none")) continue;
            std::string expanded = expand_path(f, "IdentityFile");
            if (!contains(files, expanded)) files.push_back(std::move(expanded));
        }
        c.identity_files = std::move(files);
    }
    if (!c.identities_only) c.identities_only = false;
    if (c.identity_agent && !iequals(*c.identity_agent, "none") && *c.identity_agent != "SSH_AUTH_SOCK" &&
        ((*c.identity_agent)[0] != '$' || c.identity_agent->compare(0, 2, "${") == 0))
        c.identity_agent = expand_path(*c.identity_agent, "IdentityAgent");
    if (c.user_known_hosts_files) {
        for (auto& f : *c.user_known_hosts_files) f = expand_path(f, "UserKnownHostsFile");
    } else {
        c.user_known_hosts_files = std::vector<std::string>{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"};
    }
    if (!c.strict_host_key_checking) c.strict_host_key_checking = StrictHostKeyChecking::Ask;
    // Reconnect without ServerAliveInterval: 15 s x ServerAliveCountMax 3,
    // the monitoring autossh gives, so a dead link is noticed within a
    // minute; an explicit value (0 too) is kept.
    if (!c.server_alive_interval) c.server_alive_interval = c.reconnect.value_or(false) ? kReconnectAliveInterval : 0;
    if (!c.server_alive_count_max) c.server_alive_count_max = 3;
    if (!c.exit_on_forward_failure) c.exit_on_forward_failure = false;
    if (!c.connect_timeout) c.connect_timeout = 0;
    if (!c.tunnel && !c.tunnel_disabled) c.tunnel = TunMode::Ethernet;
    if (!c.tunnel_device) c.tunnel_device = TunnelDevice{};
    if (!c.address_family) c.address_family = AddressFamily::Any;
    if (!c.reconnect) c.reconnect = false;
    if (!c.batch_mode) c.batch_mode = false;
    if (!c.tunnel_up_command) c.tunnel_up_command = std::string();
    if (!c.tunnel_down_command) c.tunnel_down_command = std::string();
    if (!c.tunnel_command_timeout) c.tunnel_command_timeout = kDefaultTunnelCommandTimeout;
    for (auto& f : c.certificate_files) f = expand_path(f, "CertificateFile");
    if (!c.control_master) c.control_master = ControlMaster::No;
    if (c.control_path && iequals(*c.control_path, "none")) c.control_path.reset();
    if (c.control_path) c.control_path = expand_path(*c.control_path, "ControlPath");
    if (c.global_known_hosts_files) {
        std::vector<std::string> files;
        for (const auto& f : *c.global_known_hosts_files)
            if (!iequals(f, "none")) files.push_back(expand_path(f, "GlobalKnownHostsFile"));
        c.global_known_hosts_files = std::move(files);
    } else {
        c.global_known_hosts_files = std::vector<std::string>{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"};
    }
    if (!c.connection_attempts) c.connection_attempts = 1;
    if (!c.check_host_ip) c.check_host_ip = false; // ssh 9.x's default
    if (!c.hash_known_hosts) c.hash_known_hosts = false;
    if (!c.permit_local_command) c.permit_local_command = false;
    if (!c.add_keys_to_agent) {
        c.add_keys_to_agent = "no";
        c.add_keys_to_agent_lifetime = 0;
    }
    // The effective lists: ssh's defaults that libssh implements, with the
    // +, -, ^ forms applied.
    c.ciphers = resolve_algorithm_list(c.ciphers.value_or(""), AlgorithmKind::Cipher, AlgorithmRole::Client, support);
    c.kex_algorithms =
        resolve_algorithm_list(c.kex_algorithms.value_or(""), AlgorithmKind::Kex, AlgorithmRole::Client, support);
}

std::string expand_local_command(const std::string& command, const LocalCommandTokens& t)
{
    if (auto problem = check_tokens(command, kLocalCommandTokens, false); !problem.empty())
        throw InputError("LocalCommand '" + printable(command, 80) + "': " + problem);
    std::string out;
    for (std::size_t i = 0; i < command.size(); ++i) {
        if (command[i] != '%' || i + 1 >= command.size()) {
            out += command[i];
            continue;
        }
        switch (command[++i]) {
        case 'T': out += t.tun_name; break;
        case 'k': out += t.host_key_alias.empty() ? t.host_arg : t.host_key_alias; break;
        default: {
            TokenValues v{t.home, t.host, t.host_arg, t.port, t.remote_user, t.local_user};
            out += expand_tokens(command.substr(i - 1, 2), v, false, "LocalCommand");
        }
        }
    }
    return out;
}

} // namespace feth::config

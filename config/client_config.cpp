#include "config/client_config.hpp"

#include <fcntl.h>
#include <glob.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>

#include "config/server_config.hpp"
#include "tunnel/error.hpp"
#include "tunnel/fd.hpp"

namespace feth::config {
namespace {

constexpr std::size_t kMaxLineLength = 8192;
constexpr std::size_t kMaxFileSize = 1024 * 1024;
constexpr int kMaxIncludeDepth = 16; // ssh's READCONF_MAX_DEPTH
constexpr std::size_t kMaxIdentityFiles = 100;

// Every keyword OpenSSH's readconf.c knows. The ones a tunnel client uses
// are handled below; the rest are accepted and ignored so that an existing
// ~/.ssh/config keeps working.
constexpr std::string_view kOpenSshKeywords[] = {
    "protocol", "cipher", "fallbacktorsh", "globalknownhostsfile2", "rhostsauthentication",
    "userknownhostsfile2", "useroaming", "usersh", "useprivilegedport", "afstokenpassing",
    "kerberosauthentication", "kerberostgtpassing", "rsaauthentication", "rhostsrsaauthentication",
    "compressionlevel", "gssapiauthentication", "gssapidelegatecredentials", "pkcs11provider",
    "smartcarddevice", "forwardagent", "forwardx11", "forwardx11trusted", "forwardx11timeout",
    "exitonforwardfailure", "xauthlocation", "gatewayports", "passwordauthentication",
    "kbdinteractiveauthentication", "kbdinteractivedevices", "challengeresponseauthentication",
    "skeyauthentication", "tisauthentication", "pubkeyauthentication", "dsaauthentication",
    "hostbasedauthentication", "identityfile", "identityfile2", "identitiesonly", "certificatefile",
    "addkeystoagent", "identityagent", "hostname", "hostkeyalias", "proxycommand", "port", "ciphers", "macs",
    "remoteforward", "localforward", "permitremoteopen", "user", "host", "match", "tag", "escapechar",
    "globalknownhostsfile", "userknownhostsfile", "connectionattempts", "batchmode", "checkhostip",
    "stricthostkeychecking", "compression", "tcpkeepalive", "keepalive", "numberofpasswordprompts",
    "syslogfacility", "loglevel", "logverbose", "dynamicforward", "preferredauthentications",
    "hostkeyalgorithms", "casignaturealgorithms", "bindaddress", "bindinterface", "clearallforwardings",
    "enablesshkeysign", "verifyhostkeydns", "nohostauthenticationforlocalhost", "rekeylimit", "connecttimeout",
    "addressfamily", "serveraliveinterval", "serveralivecountmax", "sendenv", "setenv", "controlpath",
    "controlmaster", "controlpersist", "hashknownhosts", "include", "tunnel", "tunneldevice", "localcommand",
    "permitlocalcommand", "remotecommand", "visualhostkey", "kexalgorithms", "ipqos", "requesttty",
    "sessiontype", "stdinnull", "forkafterauthentication", "proxyusefdpass", "canonicaldomains",
    "canonicalizefallbacklocal", "canonicalizehostname", "canonicalizemaxdots", "canonicalizepermittedcnames",
    "streamlocalbindmask", "streamlocalbindunlink", "revokedhostkeys", "fingerprinthash", "updatehostkeys",
    "hostbasedacceptedalgorithms", "hostbasedkeytypes", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
    "ignoreunknown", "proxyjump", "securitykeyprovider", "knownhostscommand", "requiredrsasize",
    "enableescapecommandline", "obscurekeystroketiming", "channeltimeout", "versionaddendum",
    "refuseconnection", "warnweakcrypto",
};
// Ours, not ssh's.
constexpr std::string_view kOwnKeywords[] = {"reconnect", "tunnelbackend", "tunnelupcommand", "tunneldowncommand",
                                             "tunnelcommandtimeout"};
constexpr unsigned kDefaultTunnelCommandTimeout = 30;

// A command keyword's value is the rest of the line, verbatim (quotes and
// all, for /bin/sh), as ssh takes LocalCommand: after the keyword and its
// separator (spaces, or one '=' with spaces around it).
std::string rest_of_line(std::string_view line)
{
    std::size_t i = line.find_first_not_of(" \t");
    if (i == std::string_view::npos) return {};
    i = line.find_first_of(" \t=", i);
    if (i == std::string_view::npos) return {};
    i = line.find_first_not_of(" \t", i);
    if (i != std::string_view::npos && line[i] == '=') i = line.find_first_not_of(" \t", i + 1);
    if (i == std::string_view::npos) return {};
    std::string_view v = line.substr(i);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
    return std::string(v);
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = static_cast<char>(::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool known_keyword(const std::string& kw)
{
    auto in = [&](auto& list) { return std::find(std::begin(list), std::end(list), kw) != std::end(list); };
    return in(kOpenSshKeywords) || in(kOwnKeywords);
}

// '*' and '?' glob over a whole string.
bool glob_match(std::string_view s, std::string_view p)
{
    std::size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
        if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
            ++si;
            ++pi;
        } else if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++mark;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

std::optional<bool> parse_yes_no(std::string_view v)
{
    std::string l = lower(v);
    if (l == "yes" || l == "true") return true;
    if (l == "no" || l == "false") return false;
    return std::nullopt;
}

std::optional<unsigned> parse_seconds(std::string_view v)
{
    // ssh accepts plain seconds and time suffixes (s, m, h); plain and
    // those three cover what configs use.
    if (v.empty() || v.size() > 12) return std::nullopt;
    unsigned long long mult = 1;
    char last = static_cast<char>(::tolower(static_cast<unsigned char>(v.back())));
    if (last == 's' || last == 'm' || last == 'h') {
        mult = last == 's' ? 1 : last == 'm' ? 60 : 3600;
        v.remove_suffix(1);
    }
    unsigned long long n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n * mult > 86400ULL * 365) return std::nullopt;
    return static_cast<unsigned>(n * mult);
}

std::optional<std::uint64_t> parse_bytes(std::string_view v)
{
    if (v.empty() || v.size() > 20) return std::nullopt;
    std::uint64_t mult = 1;
    char last = static_cast<char>(::toupper(static_cast<unsigned char>(v.back())));
    if (last == 'K' || last == 'M' || last == 'G') {
        mult = last == 'K' ? 1024ULL : last == 'M' ? 1024ULL * 1024 : 1024ULL * 1024 * 1024;
        v.remove_suffix(1);
    }
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n > (1ULL << 40)) return std::nullopt;
    return n * mult;
}

std::string read_limited(const std::string& path, bool& missing)
{
    missing = false;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT) {
            missing = true;
            return {};
        }
        throw_errno("config file " + path, "open");
    }
    std::string text;
    std::array<char, 8192> buf{};
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("config file " + path, "read");
        if (n == 0) break;
        text.append(buf.data(), static_cast<std::size_t>(n));
        if (text.size() > kMaxFileSize) throw InputError(path + ": larger than 1 MiB");
    }
    return text;
}

} // namespace

bool match_host_patterns(std::string_view patterns, std::string_view host)
{
    bool matched = false;
    std::size_t pos = 0;
    const std::string h = lower(host);
    while (pos <= patterns.size()) {
        std::size_t end = patterns.find_first_of(", \t", pos);
        if (end == std::string_view::npos) end = patterns.size();
        std::string_view pat = patterns.substr(pos, end - pos);
        pos = end + 1;
        if (pat.empty()) continue;
        bool negate = pat.front() == '!';
        if (negate) pat.remove_prefix(1);
        if (glob_match(h, lower(pat))) {
            if (negate) return false; // a negated match wins
            matched = true;
        }
    }
    return matched;
}

std::optional<TunnelDevice> parse_tunnel_device(std::string_view text)
{
    TunnelDevice dev;
    std::string_view local = text, remote = "any";
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        local = text.substr(0, colon);
        remote = text.substr(colon + 1);
    }
    auto l = parse_tun_unit(local);
    auto r = parse_tun_unit(remote);
    if (!l || !r) return std::nullopt;
    dev.local = *l;
    dev.remote = *r;
    return dev;
}

ClientConfigParser::ClientConfigParser(ClientConfig& config, std::string host, std::string home)
    : config_(config), host_(std::move(host)), home_(std::move(home))
{
}

void ClientConfigParser::apply_option(std::string_view option)
{
    if (option.find('\n') != std::string_view::npos) throw InputError("command-line: newline in option");
    bool active = true;
    std::string_view kw = option.substr(0, option.find_first_of("= \t"));
    if (lower(kw) == "host" || lower(kw) == "match" || lower(kw) == "include")
        throw InputError("command-line: " + std::string(kw) + " is not allowed in -o");
    apply_line(option, "command-line", 0, 0, active);
}

void ClientConfigParser::apply_file(const std::string& path, bool required)
{
    bool missing = false;
    std::string text = read_limited(path, missing);
    if (missing) {
        if (required) throw InputError("Can't open user config file " + path + ": No such file or directory");
        return;
    }
    apply_text(text, path);
}

void ClientConfigParser::apply_text(std::string_view text, const std::string& origin)
{
    if (text.size() > kMaxFileSize) throw InputError(origin + ": larger than 1 MiB");
    bool active = true; // lines before the first Host/Match apply to every host
    std::size_t lineno = 0;
    while (!text.empty()) {
        ++lineno;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        apply_line(line, origin, lineno, 0, active);
    }
}

void ClientConfigParser::apply_line(std::string_view line, const std::string& origin, std::size_t lineno, int depth,
                                    bool& active)
{
    const std::string where = lineno == 0 ? origin + ": " : origin + " line " + std::to_string(lineno) + ": ";
    if (line.size() > kMaxLineLength) throw InputError(where + "line too long");
    if (line.find('\0') != std::string_view::npos) throw InputError(where + "NUL byte in line");
    std::vector<std::string> words;
    try {
        words = split_arguments(line);
    } catch (const InputError& e) {
        throw InputError(where + e.what());
    }
    if (words.empty()) return;
    const std::string kw = lower(words[0]);
    std::vector<std::string> args(words.begin() + 1, words.end());
    auto need = [&](std::size_t n) {
        if (args.size() < n) throw InputError(where + "missing argument for " + words[0]);
    };
    auto bad = [&](const std::string& allowed) {
        return InputError(where + "bad value '" + (args.empty() ? "" : args[0]) + "' for " + words[0] +
                          (allowed.empty() ? "" : " (expected " + allowed + ")"));
    };

    if (kw == "host") {
        need(1);
        active = false;
        for (const auto& a : args) {
            if (!a.empty() && a[0] == '!' && match_host_patterns(a.substr(1), host_)) {
                active = false;
                break;
            }
            if (match_host_patterns(a, host_)) active = true;
        }
        return;
    }
    if (kw == "match") {
        need(1);
        // all, host, originalhost, user, localuser are evaluated; criteria
        // that would run commands or need DNS (exec, canonical, final,
        // localnetwork, ...) are treated as not matching, never executed.
        active = true;
        for (std::size_t i = 0; i < args.size(); ++i) {
            std::string crit = lower(args[i]);
            bool negate = !crit.empty() && crit[0] == '!';
            if (negate) crit.erase(0, 1);
            bool result;
            if (crit == "all") {
                result = true;
            } else if (i + 1 >= args.size()) {
                throw InputError(where + "Match " + crit + " needs an argument");
            } else {
                const std::string& val = args[++i];
                if (crit == "host" || crit == "originalhost")
                    result = match_host_patterns(val, crit == "host" && config_.host_name ? *config_.host_name : host_);
                else if (crit == "user")
                    result = config_.user && match_host_patterns(val, *config_.user);
                else if (crit == "localuser")
                    result = ::getlogin() != nullptr && match_host_patterns(val, ::getlogin());
                else
                    result = false;
            }
            if (negate) result = !result;
            if (!result) active = false;
        }
        return;
    }
    if (!known_keyword(kw)) {
        for (const auto& pat : config_.ignore_unknown)
            if (glob_match(kw, lower(pat))) return;
        throw InputError(where + "Bad configuration option: " + words[0]);
    }
    if (kw == "include") {
        need(1);
        if (!active) return;
        if (depth >= kMaxIncludeDepth) throw InputError(where + "Include nested too deeply");
        for (const auto& pattern : args) {
            std::string path = pattern;
            if (path.rfind("~/", 0) == 0) path = home_ + path.substr(1);
            else if (path.empty() || path[0] != '/') path = home_ + "/.ssh/" + path;
            glob_t g{};
            if (::glob(path.c_str(), 0, nullptr, &g) == 0) {
                for (std::size_t i = 0; i < g.gl_pathc; ++i) {
                    bool missing = false;
                    std::string text = read_limited(g.gl_pathv[i], missing);
                    std::string_view rest = text;
                    std::size_t n = 0;
                    bool inc_active = true; // a Host in the included file ends with it
                    while (!rest.empty()) {
                        std::size_t nl = rest.find('\n');
                        apply_line(rest.substr(0, nl), g.gl_pathv[i], ++n, depth + 1, inc_active);
                        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
                    }
                }
            }
            ::globfree(&g);
        }
        return;
    }
    if (kw == "ignoreunknown") {
        need(1);
        if (config_.ignore_unknown.empty()) config_.ignore_unknown = args;
        return;
    }
    if (!active) return;
    need(1);
    const std::string& v = args[0];
    auto tilde = [&](const std::string& p) { return p.rfind("~/", 0) == 0 ? home_ + p.substr(1) : p; };

    if (kw == "hostname") {
        if (!config_.host_name) {
            std::string out;
            for (std::size_t i = 0; i < v.size(); ++i) {
                if (v[i] == '%' && i + 1 < v.size() && v[i + 1] == 'h') out += host_, ++i;
                else if (v[i] == '%' && i + 1 < v.size() && v[i + 1] == '%') out += '%', ++i;
                else out += v[i];
            }
            config_.host_name = out;
        }
    } else if (kw == "user") {
        if (!config_.user) config_.user = v;
    } else if (kw == "port") {
        unsigned long p = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
        if (ec != std::errc{} || end != v.data() + v.size() || p == 0 || p > 65535) throw bad("1-65535");
        if (!config_.port) config_.port = static_cast<std::uint16_t>(p);
    } else if (kw == "identityfile") {
        if (config_.identity_files.size() >= kMaxIdentityFiles) throw InputError(where + "too many IdentityFile");
        std::string p = tilde(v);
        if (std::find(config_.identity_files.begin(), config_.identity_files.end(), p) ==
            config_.identity_files.end())
            config_.identity_files.push_back(p);
    } else if (kw == "identitiesonly") {
        auto b = parse_yes_no(v);
        if (!b) throw bad("yes or no");
        if (!config_.identities_only) config_.identities_only = *b;
    } else if (kw == "identityagent") {
        if (!config_.identity_agent) config_.identity_agent = v == "SSH_AUTH_SOCK" || v == "none" ? v : tilde(v);
    } else if (kw == "userknownhostsfile") {
        if (!config_.user_known_hosts_files) {
            std::vector<std::string> files;
            for (const auto& a : args)
                if (a != "none") files.push_back(tilde(a));
            config_.user_known_hosts_files = files;
        }
    } else if (kw == "stricthostkeychecking") {
        std::string l = lower(v);
        std::optional<StrictHostKeyChecking> m;
        if (l == "yes" || l == "true") m = StrictHostKeyChecking::Yes;
        else if (l == "no" || l == "off" || l == "false") m = StrictHostKeyChecking::No;
        else if (l == "ask") m = StrictHostKeyChecking::Ask;
        else if (l == "accept-new") m = StrictHostKeyChecking::AcceptNew;
        else throw bad("yes, accept-new, no, off or ask");
        if (!config_.strict_host_key_checking) config_.strict_host_key_checking = m;
    } else if (kw == "serveraliveinterval" || kw == "connecttimeout") {
        auto s = parse_seconds(v);
        if (!s) throw bad("seconds");
        auto& field = kw == "connecttimeout" ? config_.connect_timeout : config_.server_alive_interval;
        if (!field) field = *s;
    } else if (kw == "serveralivecountmax") {
        unsigned long n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc{} || end != v.data() + v.size() || n > 1000) throw bad("a count");
        if (!config_.server_alive_count_max) config_.server_alive_count_max = static_cast<unsigned>(n);
    } else if (kw == "exitonforwardfailure" || kw == "reconnect" || kw == "batchmode") {
        auto b = parse_yes_no(v);
        if (!b) throw bad("yes or no");
        auto& field = kw == "reconnect" ? config_.reconnect
                      : kw == "batchmode" ? config_.batch_mode
                                          : config_.exit_on_forward_failure;
        if (!field) field = *b;
    } else if (kw == "tunnel") {
        std::string l = lower(v);
        std::optional<TunMode> mode;
        bool disabled = false;
        if (l == "yes" || l == "point-to-point") mode = TunMode::PointToPoint;
        else if (l == "ethernet") mode = TunMode::Ethernet;
        else if (l == "no") disabled = true;
        else throw bad("yes, point-to-point, ethernet or no");
        if (!config_.tunnel && !config_.tunnel_disabled) {
            config_.tunnel = mode;
            config_.tunnel_disabled = disabled;
        }
    } else if (kw == "tunneldevice") {
        auto d = parse_tunnel_device(v);
        if (!d) throw bad("local[:remote], each a unit number or any");
        if (!config_.tunnel_device) config_.tunnel_device = d;
    } else if (kw == "addressfamily") {
        std::string l = lower(v);
        std::optional<AddressFamily> af;
        if (l == "any") af = AddressFamily::Any;
        else if (l == "inet") af = AddressFamily::Inet;
        else if (l == "inet6") af = AddressFamily::Inet6;
        else throw bad("any, inet or inet6");
        if (!config_.address_family) config_.address_family = af;
    } else if (kw == "loglevel") {
        if (!log::parse_level(v)) throw bad("QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3");
        if (!config_.log_level) config_.log_level = v;
    } else if (kw == "tunnelbackend") {
        static constexpr std::string_view names[] = {"auto", "tap", "tun", "pair", "feth", "utun"};
        if (std::find(std::begin(names), std::end(names), v) == std::end(names))
            throw bad("auto, tap, tun, pair, feth or utun");
        if (!config_.tunnel_backend) config_.tunnel_backend = v;
    } else if (kw == "tunnelupcommand" || kw == "tunneldowncommand") {
        // The rest of the line, verbatim, for /bin/sh (as ssh's LocalCommand).
        auto& field = kw == "tunnelupcommand" ? config_.tunnel_up_command : config_.tunnel_down_command;
        std::string cmd = rest_of_line(line);
        if (lower(cmd) == "none") cmd.clear();
        if (!field) field = cmd;
    } else if (kw == "tunnelcommandtimeout") {
        auto s = parse_seconds(v);
        if (!s || *s == 0) throw bad("a time of at least 1 s, such as 30 or 2m");
        if (!config_.tunnel_command_timeout) config_.tunnel_command_timeout = *s;
    } else if (kw == "ciphers") {
        if (!config_.ciphers) config_.ciphers = v;
    } else if (kw == "rekeylimit") {
        std::optional<std::uint64_t> bytes = v == "default" ? std::optional<std::uint64_t>(0) : parse_bytes(v);
        if (!bytes) throw bad("a size such as 1G, or default");
        if (!config_.rekey_limit) config_.rekey_limit = *bytes;
    }
    // Every other ssh keyword: accepted and ignored.
}

void resolve_defaults(ClientConfig& c, const std::string& host, const std::string& local_user, const std::string& home)
{
    if (!c.host_name) c.host_name = host;
    if (!c.user) c.user = local_user;
    if (!c.port) c.port = 22;
    if (c.identity_files.empty())
        for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) c.identity_files.push_back(home + "/.ssh/" + name);
    if (!c.identities_only) c.identities_only = false;
    if (!c.user_known_hosts_files)
        c.user_known_hosts_files = std::vector<std::string>{home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"};
    if (!c.strict_host_key_checking) c.strict_host_key_checking = StrictHostKeyChecking::Ask;
    if (!c.server_alive_interval) c.server_alive_interval = 0;
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
}

} // namespace feth::config

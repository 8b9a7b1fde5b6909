#include "config/server_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <span>

#include "config/algorithm_list.hpp"
#include "config/match.hpp"
#include "config/openssh_syntax.hpp"
#include "config/printable.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"
#include "tunnel/device.hpp"
#include "tunnel/mtu.hpp"
#include "config/key_options.hpp"

namespace feth::config {

namespace {

using syntax::find_keyword;
using syntax::iequals;
using syntax::kMaxFileSize;
using syntax::kMaxLineLength;
using syntax::LineParts;
using syntax::split_words;
using syntax::take_keyword;

// sshd's MAX_PORTS; the other lists get a generous but finite bound, and
// the listen x port product is bounded so that finish() cannot blow up.
constexpr std::size_t kMaxPorts = 256;
constexpr std::size_t kMaxListEntries = 1024;
constexpr std::size_t kMaxEndpoints = 1024;
constexpr std::size_t kMaxPatternLength = 256;

class LineApplier;

// PermitTunnel's words, sshd's (servconf.c): -T prints each value's word.
constexpr syntax::Word<unsigned> kPermitTunnelWords[] = {
    {"no", kPermitNo}, {"point-to-point", kPermitPointToPoint}, {"ethernet", kPermitEthernet}, {"yes", kPermitYes}};

// Yes/no keywords of ours, sshd's flag words (servconf.c multistate_flag).
constexpr syntax::Word<unsigned> kYesNoWords[] = {{"yes", 1}, {"no", 0}};

// One sshd_config keyword, all of it: its name, whether it accumulates,
// where it may appear, how its value is read and how -T prints it. Adding a
// keyword is an entry in kKeywords (below LineApplier) and its field.
struct KeywordInfo {
    std::string_view name;
    bool list; // list keywords accumulate within the first source that sets them
    // Checks the line's arguments and stores the value (LineApplier's rules:
    // first value wins, the command line outranks the file).
    void (*parse)(LineApplier&);
    // -T: the values, one line each, after the keyword in lower case.
    std::vector<std::string> (*print)(const ServerConfig&);
    // Allowed in a Match block: the block's slot, the field the value is
    // parsed into, and how -T prints it on the match line. nullptr: not
    // allowed in a Match block.
    std::optional<unsigned> MatchBlock::*block = nullptr;
    unsigned ServerConfig::*field = nullptr;
    std::string (*block_value)(unsigned) = nullptr;
};


std::optional<std::uint16_t> parse_port(std::string_view text)
{
    if (text.empty() || text.size() > 5) return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value < 1 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Host names and addresses (with an IPv6 zone after '%'): anything else
// would only fail later in getaddrinfo with a less helpful message.
bool valid_host(std::string_view host)
{
    if (host.empty() || host.size() > 255) return false;
    return std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '-' || c == '_' || c == ':' || c == '%';
    });
}

// sshd's ListenAddress forms: host, host:port, [v6], [v6]:port, bare v6 (two
// or more ':' and no brackets). Returns an error text, empty on success.
std::string parse_endpoint(std::string_view text, ListenEndpoint& out)
{
    std::string_view host = text;
    std::string_view port;
    bool has_port = false;
    auto first_colon = text.find(':');
    bool bare_v6 = text.find('[') == std::string_view::npos && first_colon != std::string_view::npos &&
                   text.find(':', first_colon + 1) != std::string_view::npos;
    if (!bare_v6 && !text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) return "missing ']'";
        host = text.substr(1, close - 1);
        std::string_view after = text.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return "expected ':' after ']'";
            port = after.substr(1);
            has_port = true;
        }
    } else if (!bare_v6 && first_colon != std::string_view::npos) {
        host = text.substr(0, first_colon);
        port = text.substr(first_colon + 1);
        has_port = true;
    }
    if (!valid_host(host)) return "bad host";
    out.host = std::string(host);
    out.port = 0;
    if (has_port) {
        auto value = parse_port(port);
        if (!value) return "bad port (expected 1 to 65535)";
        out.port = *value;
    }
    return {};
}

// A %-escape problem, empty when `pattern` expands fine.
std::string expand_percent(std::string_view pattern, std::string_view user, std::string_view home,
                           std::string& out)
{
    out.clear();
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '%') {
            out += pattern[i];
            continue;
        }
        if (i + 1 == pattern.size()) return "'%' at the end";
        char c = pattern[++i];
        if (c == 'u') {
            out += user;
        } else if (c == 'h') {
            out += home;
        } else if (c == '%') {
            out += '%';
        } else {
            return "unknown escape '%" + printable(std::string_view(&pattern[i], 1)) + "'";
        }
    }
    return {};
}

std::string validate_user_pattern(std::string_view pattern)
{
    std::string_view body = pattern;
    if (!body.empty() && body.front() == '!') body.remove_prefix(1);
    if (body.empty()) return "empty pattern";
    if (pattern.size() > kMaxPatternLength) return "pattern longer than 256 bytes";
    if (body.find('@') != body.rfind('@')) return "more than one '@'";
    for (char c : body)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "control character in pattern";
    return {};
}

} // namespace

// Where a line comes from. `prefix` starts every error: "<file> line <n>" or
// "command line: -o '<option>'".
struct ConfigParser::Source {
    std::string prefix;
    std::string origin;
    std::size_t number = 0; // 0: the command line
};

namespace {

[[noreturn]] void fail(const std::string& prefix, const std::string& problem)
{
    throw InputError(prefix + ": " + problem);
}

// How a new value from some source combines with what earlier sources set.
enum class Store { Replace, Append, Ignore };

class LineApplier {
public:
    LineApplier(ServerConfig& config, const KeywordInfo& keyword, std::string prefix, std::string origin,
                std::size_t source, std::span<const std::string> args, const AlgorithmSupport& support)
        : config_(config), kw_(keyword), prefix_(std::move(prefix)), origin_(std::move(origin)),
          source_(source), args_(args), support_(support)
    {
    }

    void apply() { kw_.parse(*this); }

    // Everything below is public for kKeywords' parsers (this class is
    // private to this file).

    [[noreturn]] void error(const std::string& problem) const { fail(prefix_, problem); }

    [[noreturn]] void bad_value(std::string_view value, std::string_view expected) const
    {
        error("bad value '" + printable(value, 64) + "' for " + std::string(kw_.name) + " (expected " +
              std::string(expected) + ")");
    }

    // At least one argument, none of them empty (sshd: "missing argument",
    // "empty argument").
    void require_args() const
    {
        if (args_.empty()) error("missing argument for " + std::string(kw_.name));
        for (const auto& a : args_)
            if (a.empty()) error("empty argument for " + std::string(kw_.name));
    }

    const std::string& single_arg() const
    {
        require_args();
        if (args_.size() > 1)
            error("too many arguments for " + std::string(kw_.name) + " (unexpected '" + printable(args_[1], 64) +
                  "')");
        return args_[0];
    }

    // Decides first-value-wins: the first source that sets a keyword keeps
    // it, except that the command line outranks any file. Records the
    // setter when the value will be stored.
    Store claim()
    {
        auto it = std::find_if(config_.sources.begin(), config_.sources.end(),
                               [&](const SettingSource& s) { return s.keyword == kw_.name; });
        if (it == config_.sources.end()) {
            config_.seen.emplace_back(kw_.name);
            config_.sources.push_back({std::string(kw_.name), origin_, source_});
            return Store::Replace;
        }
        if (source_ == 0 && it->source != 0) {
            it->origin = origin_;
            it->source = source_;
            return Store::Replace;
        }
        if (it->source == source_ && kw_.list) return Store::Append;
        return Store::Ignore;
    }

    template <typename T> void store_list(std::vector<T>& list, std::vector<T> values, std::size_t limit)
    {
        Store how = claim();
        if (how == Store::Ignore) return;
        if (how == Store::Replace) list.clear();
        if (list.size() + values.size() > limit)
            error("too many " + std::string(kw_.name) + " values (limit " + std::to_string(limit) + ")");
        for (auto& v : values) list.push_back(std::move(v));
    }

    template <typename T> void store_single(T& field, T value)
    {
        if (claim() == Store::Replace) field = std::move(value);
    }

    // sshd's Ciphers and KexAlgorithms: every line is checked as it is
    // read, names against what libssh implements; finish() applies the
    // first one to the defaults.
    void algorithms(AlgorithmKind kind, std::string& field)
    {
        const std::string& arg = single_arg();
        if (auto problem = algorithm_list_problem(arg, kind, support_); !problem.empty())
            error(bad_algorithm_list(kind, arg, problem));
        store_single(field, arg);
    }

    // sshd: "default" or a size of at least 16 bytes, then optionally
    // "none" or a time.
    void rekey_limit()
    {
        require_args();
        if (args_.size() > 2)
            error("too many arguments for RekeyLimit (unexpected '" + printable(args_[2], 64) + "')");
        std::optional<std::uint64_t> bytes =
            args_[0] == "default" ? std::optional<std::uint64_t>(0) : parse_byte_size(args_[0]);
        if (!bytes || (*bytes != 0 && *bytes < 16))
            bad_value(args_[0], "default or a size of at least 16 bytes, such as 1G");
        unsigned seconds = 0;
        if (args_.size() == 2 && args_[1] != "none") {
            auto t = parse_time_interval(args_[1]);
            if (!t) bad_value(args_[1], "none or a time, such as 1h");
            seconds = *t;
        }
        if (claim() != Store::Replace) return;
        config_.rekey_limit_bytes = *bytes;
        config_.rekey_limit_seconds = seconds;
    }

    void listen_address()
    {
        ListenEndpoint endpoint;
        const std::string& arg = single_arg();
        std::string problem = parse_endpoint(arg, endpoint);
        if (!problem.empty())
            error("bad address '" + printable(arg, 64) + "' for ListenAddress: " + problem);
        store_list(config_.listen, {std::move(endpoint)}, kMaxListEntries);
    }

    void port()
    {
        const std::string& arg = single_arg();
        auto value = parse_port(arg);
        if (!value) error("bad port '" + printable(arg, 64) + "' for Port (expected 1 to 65535)");
        store_list(config_.ports, {*value}, kMaxPorts);
    }

    void host_key()
    {
        store_list(config_.host_keys, {single_arg()}, kMaxListEntries);
    }

    void authorized_keys_file()
    {
        require_args();
        std::vector<std::string> files;
        std::string scratch;
        for (const auto& a : args_) {
            // sshd skips "none" entries; a line of only "none" means no file.
            if (iequals(a, "none")) continue;
            std::string problem = expand_percent(a, "user", "/home", scratch);
            if (!problem.empty())
                error("bad value '" + printable(a, 64) + "' for AuthorizedKeysFile: " + problem +
                      " (known: %u, %h, %%)");
            files.push_back(a);
        }
        store_list(config_.authorized_keys_files, std::move(files), kMaxListEntries);
    }

    void permit_tunnel()
    {
        // sshd compares these case-sensitively.
        const std::string& arg = single_arg();
        if (auto mode = syntax::value_of(kPermitTunnelWords, arg, false)) return store_single(config_.permit_tunnel, *mode);
        bad_value(arg, "no, point-to-point, ethernet or yes");
    }

    void pid_file()
    {
        const std::string& arg = single_arg();
        store_single(config_.pid_file, arg == "none" ? std::string() : arg);
    }

    void log_level()
    {
        const std::string& arg = single_arg();
        auto level = log::parse_level(arg);
        if (!level) bad_value(arg, "QUIET, FATAL, ERROR, INFO, VERBOSE, DEBUG, DEBUG1, DEBUG2 or DEBUG3");
        store_single(config_.log_level, *level);
    }

    void allow_users()
    {
        require_args();
        for (const auto& a : args_) {
            std::string problem = validate_user_pattern(a);
            if (!problem.empty()) error("bad pattern '" + printable(a, 64) + "' for AllowUsers: " + problem);
        }
        store_list(config_.allow_users, std::vector<std::string>(args_.begin(), args_.end()),
                   kMaxListEntries);
    }

    void deny_users()
    {
        require_args();
        for (const auto& a : args_) {
            std::string problem = validate_user_pattern(a);
            if (!problem.empty()) error("bad pattern '" + printable(a, 64) + "' for DenyUsers: " + problem);
        }
        store_list(config_.deny_users, std::vector<std::string>(args_.begin(), args_.end()), kMaxListEntries);
    }

    static std::optional<unsigned> small_number(std::string_view s)
    {
        if (s.empty() || s.size() > 9) return std::nullopt;
        unsigned v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        return v;
    }

    void number(unsigned& field, unsigned min, unsigned max)
    {
        const std::string& arg = single_arg();
        auto v = small_number(arg);
        if (!v || *v < min || *v > max)
            bad_value(arg, "a number from " + std::to_string(min) + " to " + std::to_string(max));
        store_single(field, *v);
    }

    void time_value(unsigned& field)
    {
        const std::string& arg = single_arg();
        auto v = parse_time_interval(arg);
        if (!v) bad_value(arg, "a time such as 120, 2m or 1h30m");
        store_single(field, *v);
    }

    void max_startups()
    {
        // sshd: "start:rate:full" or a bare "start" (then rate 100, full start).
        const std::string& arg = single_arg();
        feth::config::MaxStartups m;
        std::vector<std::string_view> parts;
        std::string_view rest = arg;
        for (;;) {
            auto colon = rest.find(':');
            parts.push_back(rest.substr(0, colon));
            if (colon == std::string_view::npos) break;
            rest.remove_prefix(colon + 1);
        }
        std::vector<unsigned> v;
        for (auto p : parts) {
            auto n = small_number(p);
            if (!n) bad_value(arg, "start:rate:full, e.g. 10:30:100");
            v.push_back(*n);
        }
        if (v.size() == 3) {
            m = {v[0], v[1], v[2]};
            if (m.start > m.full || m.full == 0 || m.rate > 100 || m.rate == 0)
                bad_value(arg, "start <= full, 0 < rate <= 100");
        } else if (v.size() == 1) {
            m = {v[0], 100, v[0]};
        } else {
            bad_value(arg, "start:rate:full, e.g. 10:30:100");
        }
        store_single(config_.max_startups, m);
    }

    // sshd: "bits4[:bits6]".
    void net_block_size()
    {
        const std::string& arg = single_arg();
        std::string_view a = arg;
        auto colon = a.find(':');
        auto v4 = small_number(a.substr(0, colon));
        std::optional<unsigned> v6 = config_.per_source_masklen6;
        if (colon != std::string_view::npos) v6 = small_number(a.substr(colon + 1));
        if (!v4 || !v6 || *v4 < 1 || *v4 > 32 || *v6 < 1 || *v6 > 128)
            bad_value(arg, "bits4[:bits6], from 1 to 32 and 1 to 128, e.g. 32:128");
        if (claim() != Store::Replace) return;
        config_.per_source_masklen4 = *v4;
        config_.per_source_masklen6 = *v6;
    }

    // sshd: "yes", "no" (or "off"), or name:value words over the defaults.
    void per_source_penalties()
    {
        require_args();
        feth::config::PerSourcePenalties p;
        bool overflow6_set = false;
        if (args_.size() == 1 && (args_[0] == "yes" || args_[0] == "no" || args_[0] == "off")) {
            p.enabled = args_[0] == "yes";
        } else {
            for (const auto& word : args_) {
                auto colon = word.find(':');
                const std::string name = word.substr(0, colon);
                const std::string value = colon == std::string::npos ? std::string() : word.substr(colon + 1);
                if (name == "invaliduser" || name == "refuseconnection")
                    error("PerSourcePenalties " + name + " is not supported by feth-sshd (" +
                          (name == "invaliduser" ? std::string("invalid users fail as any key does: see authfail")
                                                 : std::string("there is no RefuseConnection")) + ")");
                if (colon == std::string::npos) bad_value(word, "name:value, e.g. authfail:5s");
                if (name == "overflow" || name == "overflow6") {
                    if (value != "deny-all" && value != "permissive") bad_value(word, "deny-all or permissive");
                    (name == "overflow" ? p.overflow_deny_all4 : p.overflow_deny_all6) = value == "deny-all";
                    if (name == "overflow6") overflow6_set = true;
                    continue;
                }
                if (name == "max-sources4" || name == "max-sources6") {
                    auto n = small_number(value);
                    if (!n || *n < 1 || *n > 16777216) bad_value(word, "a number from 1 to 16777216");
                    (name == "max-sources4" ? p.max_sources4 : p.max_sources6) = *n;
                    continue;
                }
                unsigned* field = name == "crash"            ? &p.crash
                                  : name == "authfail"       ? &p.authfail
                                  : name == "noauth"         ? &p.noauth
                                  : name == "grace-exceeded" ? &p.grace_exceeded
                                  : name == "max"            ? &p.max
                                  : name == "min"            ? &p.min
                                                             : nullptr;
                if (field == nullptr)
                    error("unknown PerSourcePenalties keyword '" + printable(name, 64) +
                          "' (crash, authfail, noauth, grace-exceeded, max, min, max-sources4, max-sources6, "
                          "overflow, overflow6)");
                auto t = parse_time_interval(value);
                if (!t) bad_value(word, "a time such as 5s or 10m");
                *field = *t;
            }
        }
        if (!overflow6_set) p.overflow_deny_all6 = p.overflow_deny_all4;
        store_single(config_.per_source_penalties, p);
    }

    // A shell command: the arguments joined by single spaces ("none" for
    // no command). Quoting is not kept: complex commands belong in a script.
    void command(std::string& field)
    {
        if (args_.empty()) bad_value("", "a command, or none");
        std::string cmd;
        for (const auto& a : args_) cmd += (cmd.empty() ? "" : " ") + a;
        if (cmd.size() > 4096) bad_value(cmd.substr(0, 32), "a command of at most 4096 bytes");
        store_single(field, cmd == "none" ? std::string() : cmd);
    }

    void privsep_user()
    {
        const std::string& arg = single_arg();
        std::string problem = validate_user_pattern(arg);
        if (!problem.empty() || arg.find_first_of("*?!@") != std::string::npos)
            bad_value(arg, "a user name");
        store_single(config_.privsep_user, arg);
    }

    void yes_no(unsigned& field)
    {
        const std::string& arg = single_arg();
        if (auto v = syntax::value_of(kYesNoWords, arg, false)) return store_single(field, *v);
        bad_value(arg, "yes or no");
    }

    void tunnel_backend()
    {
        const std::string& arg = single_arg();
        if (!is_backend_name(arg)) bad_value(arg, backend_names_text());
        store_single(config_.tunnel_backend, arg);
    }

    ServerConfig& config_;
    const KeywordInfo& kw_;
    std::string prefix_;
    std::string origin_;
    std::size_t source_;
    std::span<const std::string> args_;
    const AlgorithmSupport& support_;
};

std::string permit_name(unsigned p) { return std::string(syntax::word_of(kPermitTunnelWords, p)); }
std::string mtu_name(unsigned m) { return m == 0 ? std::string("default") : std::to_string(m); }
std::string number_name(unsigned n) { return std::to_string(n); }
std::string yes_no_name(unsigned v) { return std::string(syntax::word_of(kYesNoWords, v)); }
std::string none_if_empty(const std::string& s) { return s.empty() ? std::string("none") : s; }
std::string default_if_empty(const std::string& s) { return s.empty() ? std::string("(default)") : s; }

using Values = std::vector<std::string>;
using A = LineApplier;
using C = ServerConfig;

// In -T's order. Lookup ignores the order.
constexpr KeywordInfo kKeywords[] = {
    {"Port", true, [](A& a) { a.port(); },
     [](const C& c) {
         Values v;
         for (auto p : c.ports) v.push_back(std::to_string(p));
         return v;
     }},
    {"ListenAddress", true, [](A& a) { a.listen_address(); },
     [](const C& c) {
         Values v;
         for (const auto& l : c.listen) {
             const bool v6 = l.host.find(':') != std::string::npos;
             v.push_back((v6 ? "[" + l.host + "]" : l.host) + ":" + std::to_string(l.port));
         }
         return v;
     }},
    {"HostKey", true, [](A& a) { a.host_key(); }, [](const C& c) { return c.host_keys; }},
    {"AuthorizedKeysFile", true, [](A& a) { a.authorized_keys_file(); },
     [](const C& c) {
         std::string akf;
         for (const auto& f : c.authorized_keys_files) akf += (akf.empty() ? "" : " ") + f;
         return Values{none_if_empty(akf)};
     }},
    {"PermitTunnel", false, [](A& a) { a.permit_tunnel(); },
     [](const C& c) { return Values{permit_name(c.permit_tunnel)}; }, &MatchBlock::permit_tunnel,
     &C::permit_tunnel, permit_name},
    {"PidFile", false, [](A& a) { a.pid_file(); }, [](const C& c) { return Values{none_if_empty(c.pid_file)}; }},
    {"LogLevel", false, [](A& a) { a.log_level(); },
     [](const C& c) { return Values{std::string(log::level_name(c.log_level))}; }},
    {"AllowUsers", true, [](A& a) { a.allow_users(); }, [](const C& c) { return c.allow_users; }},
    {"DenyUsers", true, [](A& a) { a.deny_users(); }, [](const C& c) { return c.deny_users; }},
    {"TunnelBackend", false, [](A& a) { a.tunnel_backend(); }, [](const C& c) { return Values{c.tunnel_backend}; }},
    {"TunnelMTU", false,
     [](A& a) {
         const std::string& arg = a.single_arg();
         auto v = mtu::parse(arg);
         if (!v) a.bad_value(arg, mtu::expected());
         a.store_single(a.config_.tunnel_mtu, *v);
     },
     [](const C& c) { return Values{mtu_name(c.tunnel_mtu)}; }, &MatchBlock::tunnel_mtu, &C::tunnel_mtu, mtu_name},
    {"TunnelAdoptExisting", false, [](A& a) { a.yes_no(a.config_.tunnel_adopt_existing); },
     [](const C& c) { return Values{yes_no_name(c.tunnel_adopt_existing)}; }, &MatchBlock::tunnel_adopt_existing,
     &C::tunnel_adopt_existing, yes_no_name},
    {"MaxStartups", false, [](A& a) { a.max_startups(); },
     [](const C& c) {
         return Values{std::to_string(c.max_startups.start) + ":" + std::to_string(c.max_startups.rate) + ":" +
                       std::to_string(c.max_startups.full)};
     }},
    {"PerSourceMaxStartups", false,
     [](A& a) {
         const std::string& arg = a.single_arg();
         if (arg == "none") return a.store_single(a.config_.per_source_max_startups, 0u);
         a.number(a.config_.per_source_max_startups, 1, 1000000);
     },
     [](const C& c) {
         return Values{c.per_source_max_startups == 0 ? std::string("none")
                                                      : std::to_string(c.per_source_max_startups)};
     }},
    {"PerSourceNetBlockSize", false, [](A& a) { a.net_block_size(); },
     [](const C& c) {
         return Values{std::to_string(c.per_source_masklen4) + ":" + std::to_string(c.per_source_masklen6)};
     }},
    {"PerSourcePenalties", false, [](A& a) { a.per_source_penalties(); },
     [](const C& c) {
         const auto& p = c.per_source_penalties;
         auto secs = [](unsigned v) { return std::to_string(v) + "s"; };
         auto overflow = [](bool deny) { return std::string(deny ? "deny-all" : "permissive"); };
         if (!p.enabled) return Values{"no"};
         return Values{"crash:" + secs(p.crash) + " authfail:" + secs(p.authfail) + " noauth:" + secs(p.noauth) +
                       " grace-exceeded:" + secs(p.grace_exceeded) + " max:" + secs(p.max) + " min:" +
                       secs(p.min) + " max-sources4:" + std::to_string(p.max_sources4) +
                       " max-sources6:" + std::to_string(p.max_sources6) + " overflow:" +
                       overflow(p.overflow_deny_all4) + " overflow6:" + overflow(p.overflow_deny_all6)};
     }},
    {"PerSourcePenaltyExemptList", false,
     [](A& a) {
         const std::string& arg = a.single_arg();
         if (arg != "none" && addr_match_list("127.0.0.1", arg) == -2)
             a.bad_value(arg, "a list of addresses or CIDR networks, or none");
         a.store_single(a.config_.per_source_penalty_exempt, arg == "none" ? std::string() : arg);
     },
     [](const C& c) { return Values{none_if_empty(c.per_source_penalty_exempt)}; }},
    {"MaxTunnels", false, [](A& a) { a.number(a.config_.max_tunnels, 1, 1000); },
     [](const C& c) { return Values{std::to_string(c.max_tunnels)}; }, &MatchBlock::max_tunnels, &C::max_tunnels,
     number_name},
    {"LoginGraceTime", false, [](A& a) { a.time_value(a.config_.login_grace_time); },
     [](const C& c) { return Values{std::to_string(c.login_grace_time)}; }},
    {"MaxAuthTries", false, [](A& a) { a.number(a.config_.max_auth_tries, 1, 1000); },
     [](const C& c) { return Values{std::to_string(c.max_auth_tries)}; }},
    {"MaxSessions", false, [](A& a) { a.number(a.config_.max_sessions, 0, 1000); },
     [](const C& c) { return Values{std::to_string(c.max_sessions)}; }},
    {"ClientAliveInterval", false, [](A& a) { a.time_value(a.config_.client_alive_interval); },
     [](const C& c) { return Values{std::to_string(c.client_alive_interval)}; }},
    {"ClientAliveCountMax", false, [](A& a) { a.number(a.config_.client_alive_count_max, 0, 1000); },
     [](const C& c) { return Values{std::to_string(c.client_alive_count_max)}; }},
    {"PrivilegeSeparationUser", false, [](A& a) { a.privsep_user(); },
     [](const C& c) { return Values{default_if_empty(c.privsep_user)}; }},
    {"TunnelUpCommand", false, [](A& a) { a.command(a.config_.tunnel_up_command); },
     [](const C& c) { return Values{none_if_empty(c.tunnel_up_command)}; }},
    {"TunnelDownCommand", false, [](A& a) { a.command(a.config_.tunnel_down_command); },
     [](const C& c) { return Values{none_if_empty(c.tunnel_down_command)}; }},
    {"TunnelCommandTimeout", false,
     [](A& a) {
         const std::string& arg = a.single_arg();
         auto v = parse_time_interval(arg);
         if (!v || *v == 0) a.bad_value(arg, "a time of at least 1 second, such as 30 or 1m");
         a.store_single(a.config_.tunnel_command_timeout, *v);
     },
     [](const C& c) { return Values{std::to_string(c.tunnel_command_timeout)}; }},
    {"StatusSocket", false,
     [](A& a) {
         const std::string& arg = a.single_arg();
         if (arg != "none" && (arg.empty() || arg[0] != '/' || arg.size() > 100))
             a.bad_value(arg, "an absolute path of at most 100 bytes, or none");
         a.store_single(a.config_.status_socket, arg == "none" ? std::string() : arg);
     },
     [](const C& c) { return Values{none_if_empty(c.status_socket)}; }},
    {"Ciphers", false, [](A& a) { a.algorithms(AlgorithmKind::Cipher, a.config_.ciphers); },
     [](const C& c) { return Values{default_if_empty(c.ciphers)}; }},
    {"KexAlgorithms", false, [](A& a) { a.algorithms(AlgorithmKind::Kex, a.config_.kex_algorithms); },
     [](const C& c) { return Values{default_if_empty(c.kex_algorithms)}; }},
    {"RekeyLimit", false, [](A& a) { a.rekey_limit(); },
     [](const C& c) {
         return Values{(c.rekey_limit_bytes == 0 ? std::string("default") : std::to_string(c.rekey_limit_bytes)) +
                       " " +
                       (c.rekey_limit_seconds == 0 ? std::string("none") : std::to_string(c.rekey_limit_seconds))};
     }},
};

// Every entry parses and prints; a Match-allowed one has all three of its
// block's parts.
constexpr bool keyword_table_complete()
{
    for (const auto& k : kKeywords) {
        if (k.parse == nullptr || k.print == nullptr) return false;
        const bool in_match = k.block != nullptr;
        if (in_match != (k.field != nullptr) || in_match != (k.block_value != nullptr)) return false;
    }
    return true;
}
static_assert(keyword_table_complete(), "a keyword table entry lacks its parser, its printer or a Match part");

// "PermitTunnel, TunnelMTU, TunnelAdoptExisting and MaxTunnels": what a Match block allows, for
// the error that refuses the rest.
std::string match_keywords_text()
{
    std::vector<std::string_view> names;
    for (const auto& k : kKeywords)
        if (k.block != nullptr) names.push_back(k.name);
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + std::string(names[i]);
    return out;
}

// The first word of a line for messages about the line as a whole.
std::string keyword_hint(std::string_view line)
{
    std::string_view word = take_keyword(line.substr(0, std::min<std::size_t>(line.size(), 256))).keyword;
    word = word.substr(0, word.find('\0'));
    if (word.empty()) return {};
    return " (keyword '" + printable(word, 64) + "')";
}

} // namespace

bool ServerConfig::was_set(std::string_view keyword) const
{
    return std::any_of(seen.begin(), seen.end(), [&](const std::string& k) { return iequals(k, keyword); });
}

void ConfigParser::apply_line(std::string_view line, const Source& source)
{
    if (line.find('\0') != std::string_view::npos)
        fail(source.prefix, "NUL byte in line" + keyword_hint(line));
    if (line.size() > kMaxLineLength)
        fail(source.prefix, "line longer than " + std::to_string(kMaxLineLength) + " bytes" + keyword_hint(line));

    LineParts parts = take_keyword(line);
    if (parts.bare_equals) fail(source.prefix, "missing keyword before '='");
    if (parts.keyword.empty()) return;
    if (iequals(parts.keyword, "Include"))
        fail(source.prefix, "Include is not supported; put everything in one file");
    if (iequals(parts.keyword, "Match")) {
        if (source.number == 0) fail(source.prefix, "Match is not allowed on the command line");
        std::vector<std::string> words;
        if (!split_words(parts.rest, words)) fail(source.prefix, "unterminated quote in Match");
        MatchBlock block;
        block.where = source.prefix;
        if (words.empty()) fail(source.prefix, "Match needs criteria (All, User or Address)");
        for (std::size_t i = 0; i < words.size(); ++i) {
            const std::string name = syntax::ascii_lower(words[i]);
            if (name == "all") {
                if (words.size() != 1) fail(source.prefix, "Match All must be the only criterion");
                block.criteria.push_back({"all", ""});
                continue;
            }
            if (name != "user" && name != "address")
                fail(source.prefix, "unsupported Match criterion '" + printable(words[i], 64) +
                                        "' (supported: All, User, Address)");
            if (i + 1 >= words.size() || words[i + 1].empty())
                fail(source.prefix, "Match " + words[i] + " needs a pattern list");
            const std::string& list = words[++i];
            if (list.size() > kMaxPatternLength * 16) fail(source.prefix, "Match pattern list too long");
            if (name == "address" && addr_match_list("127.0.0.1", list) == -2)
                fail(source.prefix, "bad address list '" + printable(list, 64) + "' in Match Address");
            block.criteria.push_back({name, list});
        }
        if (config_.matches.size() >= kMaxListEntries) fail(source.prefix, "too many Match blocks");
        config_.matches.push_back(std::move(block));
        match_ = config_.matches.size() - 1;
        return;
    }
    const KeywordInfo* info = find_keyword(kKeywords, parts.keyword);
    if (!info) fail(source.prefix, "unknown keyword '" + printable(parts.keyword, 64) + "'");

    std::vector<std::string> args;
    if (!split_words(parts.rest, args))
        fail(source.prefix, "unterminated quote in arguments for " + std::string(info->name));
    if (match_ && source.number != 0) {
        if (info->block == nullptr)
            fail(source.prefix, std::string(info->name) + " is not allowed in a Match block (only " +
                                    match_keywords_text() + ")");
        // Parse the value with a scratch config, then keep the block's first.
        ServerConfig scratch;
        LineApplier(scratch, *info, source.prefix, source.origin, source.number, args, support_).apply();
        auto& slot = config_.matches[*match_].*info->block;
        if (!slot) slot = scratch.*info->field;
        return;
    }
    LineApplier(config_, *info, source.prefix, source.origin, source.number, args, support_).apply();
}

void ConfigParser::apply_option(std::string_view option)
{
    Source source{"command line: -o '" + printable(option, 64) + "'", std::string(kCommandLine), 0};
    // One -o is one line: a newline would smuggle in a second one.
    if (option.find_first_of("\r\n") != std::string_view::npos) fail(source.prefix, "newline in option");
    LineParts parts = take_keyword(option);
    if (parts.keyword.empty() && !parts.bare_equals) fail(source.prefix, "empty option");
    apply_line(option, source);
}

void ConfigParser::apply_text(std::string_view text, std::string_view origin)
{
    std::string name = printable(origin, 4096);
    if (text.size() > kMaxFileSize)
        throw InputError(name + ": file larger than " + std::to_string(kMaxFileSize) + " bytes");
    std::size_t number = ++config_.texts_applied;
    std::size_t lineno = 0;
    match_.reset(); // a Match block ends with its file
    struct EndMatch {
        std::optional<std::size_t>& m;
        ~EndMatch() { m.reset(); }
    } end_match{match_};
    while (!text.empty()) {
        ++lineno;
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        apply_line(line, Source{name + " line " + std::to_string(lineno), name, number});
    }
}

void ConfigParser::apply_file(const std::string& path)
{
    const std::string context = "cannot read config file " + printable(path, 4096);
    apply_text(syntax::read_bounded_file(path, context), path);
}

void ConfigParser::finish()
{
    if (config_.ports.empty()) config_.ports = {22};
    if (config_.listen.empty()) config_.listen = {{"0.0.0.0", 0}, {"::", 0}};
    if (!config_.was_set("AuthorizedKeysFile")) config_.authorized_keys_files = {".ssh/authorized_keys"};
    // The effective lists; the values were checked line by line already.
    config_.ciphers =
        resolve_algorithm_list(config_.ciphers, AlgorithmKind::Cipher, AlgorithmRole::Server, support_);
    config_.kex_algorithms =
        resolve_algorithm_list(config_.kex_algorithms, AlgorithmKind::Kex, AlgorithmRole::Server, support_);

    // Give every endpoint without a port each Port; drop duplicates, which
    // would only fail to bind.
    std::vector<ListenEndpoint> expanded;
    auto add = [&](const std::string& host, std::uint16_t port) {
        bool dup = std::any_of(expanded.begin(), expanded.end(),
                               [&](const ListenEndpoint& e) { return e.host == host && e.port == port; });
        if (dup) return;
        if (expanded.size() == kMaxEndpoints)
            throw InputError("ListenAddress and Port give more than " + std::to_string(kMaxEndpoints) +
                             " listening sockets");
        expanded.push_back({host, port});
    };
    for (const auto& e : config_.listen) {
        if (e.port != 0) {
            add(e.host, e.port);
            continue;
        }
        for (auto port : config_.ports) add(e.host, port);
    }
    config_.listen = std::move(expanded);
}

std::string expand_authorized_keys_path(std::string_view pattern, std::string_view user, std::string_view home)
{
    std::string out;
    std::string problem = expand_percent(pattern, user, home, out);
    if (!problem.empty())
        throw InputError("AuthorizedKeysFile '" + printable(pattern, 64) + "': " + problem + " (known: %u, %h, %%)");
    if (!out.empty() && out.front() == '/') return out;
    // sshd: a relative path is taken relative to the user's home directory.
    std::string joined(home);
    if (joined.empty() || joined.back() != '/') joined += '/';
    return joined + out;
}

bool user_allowed(const std::vector<std::string>& allow_users, std::string_view user)
{
    if (allow_users.empty()) return true;
    return std::any_of(allow_users.begin(), allow_users.end(),
                       [&](const std::string& p) { return match_pattern(user, p); });
}

std::string user_access_problem(const ServerConfig& cfg, std::string_view user, std::string_view address)
{
    for (const auto& p : cfg.deny_users)
        if (match_user(user, address, p)) return "listed in DenyUsers";
    if (!cfg.allow_users.empty() &&
        std::none_of(cfg.allow_users.begin(), cfg.allow_users.end(),
                     [&](const std::string& p) { return match_user(user, address, p); }))
        return "not listed in AllowUsers";
    return {};
}

namespace {

bool block_matches(const MatchBlock& block, std::string_view user, std::string_view address)
{
    for (const auto& c : block.criteria) {
        if (c.name == "all") continue;
        if (c.name == "user" && match_pattern_list(user, c.patterns, false) == 1) continue;
        if (c.name == "address" && addr_match_list(address, c.patterns) == 1) continue;
        return false;
    }
    return true;
}

} // namespace

unsigned effective_permit_tunnel(const ServerConfig& cfg, std::string_view user, std::string_view address)
{
    for (const auto& block : cfg.matches)
        if (block.permit_tunnel && block_matches(block, user, address)) return *block.permit_tunnel;
    return cfg.permit_tunnel;
}

unsigned effective_tunnel_mtu(const ServerConfig& cfg, std::string_view user, std::string_view address)
{
    for (const auto& block : cfg.matches)
        if (block.tunnel_mtu && block_matches(block, user, address)) return *block.tunnel_mtu;
    return cfg.tunnel_mtu;
}

bool effective_tunnel_adopt_existing(const ServerConfig& cfg, std::string_view user, std::string_view address)
{
    for (const auto& block : cfg.matches)
        if (block.tunnel_adopt_existing && block_matches(block, user, address)) return *block.tunnel_adopt_existing != 0;
    return cfg.tunnel_adopt_existing != 0;
}

unsigned effective_max_tunnels(const ServerConfig& cfg, std::string_view user, std::string_view address)
{
    for (const auto& block : cfg.matches)
        if (block.max_tunnels && block_matches(block, user, address)) return *block.max_tunnels;
    return cfg.max_tunnels;
}

} // namespace feth::config

namespace feth::config {

std::string dump_config(const ServerConfig& c)
{
    using syntax::ascii_lower;
    std::string out;
    auto line = [&out](std::string_view kw, const std::string& value) { out += ascii_lower(kw) + " " + value + "\n"; };
    for (const auto& k : kKeywords)
        for (const auto& value : k.print(c)) line(k.name, value);
    // Match is a directive, not a keyword: its blocks last, each with the
    // values it sets.
    for (const auto& m : c.matches) {
        std::string text;
        for (const auto& k : m.criteria) text += (text.empty() ? "" : " ") + k.name + (k.patterns.empty() ? "" : " " + k.patterns);
        for (const auto& k : kKeywords) {
            if (k.block == nullptr || !(m.*k.block)) continue;
            text += " " + ascii_lower(k.name) + " " + k.block_value(*(m.*k.block));
        }
        line("match", text);
    }
    return out;
}

} // namespace feth::config

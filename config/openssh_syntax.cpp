// OpenSSH's shared config syntax (config/openssh_syntax.hpp).
#include "config/openssh_syntax.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>

#include "config/printable.hpp"
#include "base/error.hpp"
#include "base/fd.hpp"

namespace feth::config {
namespace syntax {
namespace {

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }
// sshd's WHITESPACE plus the form feed it also strips from line ends.
constexpr bool is_trailing_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}
constexpr bool ends_keyword(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '='; }

std::string_view trim_trailing(std::string_view s)
{
    while (!s.empty() && is_trailing_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view skip_blanks(std::string_view s)
{
    while (!s.empty() && is_trailing_space(s.front())) s.remove_prefix(1);
    return s;
}

} // namespace

std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

BoundedFile read_bounded_file(const std::string& path, const std::string& context, const ReadRules& rules)
{
    BoundedFile file;
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | (rules.nonblocking ? O_NONBLOCK : 0);
    UniqueFd fd(::open(path.c_str(), flags));
    if (!fd) {
        if (rules.missing_is_empty && (errno == ENOENT || errno == ENOTDIR)) {
            file.missing = true;
            return file;
        }
        throw_errno(context, "open");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno(context, "fstat");
    if (rules.check_owner && ((st.st_uid != 0 && st.st_uid != ::getuid()) || (st.st_mode & 022) != 0))
        throw InputError("Bad owner or permissions on " + printable(path, 4096));
    if (S_ISDIR(st.st_mode)) {
        if (rules.directory_is_empty) return file;
        throw SystemError(context, "open", EISDIR);
    }

    std::string& text = file.text;
    text.assign(kMaxFileSize + 1, '\0');
    std::size_t used = 0;
    while (used < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && rules.nonblocking && errno == EAGAIN) break;
        if (n < 0) throw_errno(context, "read");
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    text.resize(used);
    return file;
}

std::string read_bounded_file(const std::string& path, const std::string& context)
{
    return read_bounded_file(path, context, ReadRules{}).text;
}

bool split_words(std::string_view s, std::vector<std::string>& out)
{
    std::size_t i = 0;
    while (i < s.size()) {
        if (is_blank(s[i])) {
            ++i;
            continue;
        }
        if (s[i] == '#') break; // an argument starting with '#' is a comment
        std::string word;
        char quote = 0;
        for (; i < s.size(); ++i) {
            char c = s[i];
            char next = i + 1 < s.size() ? s[i + 1] : '\0';
            if (c == '\\' && (next == '\'' || next == '"' || next == '\\' || (quote == 0 && next == ' '))) {
                word += next;
                ++i;
            } else if (quote == 0 && is_blank(c)) {
                break;
            } else if (quote == 0 && (c == '"' || c == '\'')) {
                quote = c;
            } else if (quote != 0 && c == quote) {
                quote = 0;
            } else {
                word += c;
            }
        }
        if (quote != 0) return false;
        out.push_back(std::move(word));
    }
    return true;
}

LineParts take_keyword(std::string_view line)
{
    LineParts parts;
    line = skip_blanks(trim_trailing(line));
    if (line.empty() || line.front() == '#') return parts;
    std::size_t end = 0;
    while (end < line.size() && !ends_keyword(line[end])) ++end;
    parts.keyword = line.substr(0, end);
    parts.bare_equals = end == 0;
    std::string_view rest = skip_blanks(line.substr(end));
    if (!rest.empty() && rest.front() == '=') rest = skip_blanks(rest.substr(1));
    parts.rest = rest;
    return parts;
}

} // namespace syntax

using syntax::split_words;
using syntax::take_keyword;
using syntax::LineParts;

std::vector<std::string> split_arguments(std::string_view text)
{
    LineParts parts = take_keyword(text);
    if (parts.bare_equals) throw InputError("missing keyword before '='");
    std::vector<std::string> words;
    if (parts.keyword.empty()) return words;
    words.emplace_back(parts.keyword);
    if (!split_words(parts.rest, words)) throw InputError("unterminated quote");
    return words;
}

std::optional<std::uint64_t> parse_byte_size(std::string_view v)
{
    if (v.empty() || v.size() > 24) return std::nullopt;
    std::uint64_t shift = 0;
    switch (std::tolower(static_cast<unsigned char>(v.back()))) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: break;
    }
    if (shift != 0) v.remove_suffix(1);
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n > (std::uint64_t{1} << (62 - shift)))
        return std::nullopt;
    return n << shift;
}

std::optional<unsigned> parse_time_interval(std::string_view s)
{
    if (s.empty() || s.size() > 32) return std::nullopt;
    std::uint64_t total = 0, value = 0;
    bool have_digit = false;
    for (char c : s) {
        if (c >= '0' && c <= '9') {
            value = value * 10 + static_cast<unsigned>(c - '0');
            have_digit = true;
            if (value > 100000000) return std::nullopt;
            continue;
        }
        if (!have_digit) return std::nullopt;
        std::uint64_t mult = 0;
        switch (c) {
        case 's': case 'S': mult = 1; break;
        case 'm': case 'M': mult = 60; break;
        case 'h': case 'H': mult = 3600; break;
        case 'd': case 'D': mult = 86400; break;
        case 'w': case 'W': mult = 604800; break;
        default: return std::nullopt;
        }
        total += value * mult;
        value = 0;
        have_digit = false;
    }
    total += value;
    if (total > 0x7fffffff) return std::nullopt;
    return static_cast<unsigned>(total);
}

} // namespace feth::config

// OpenSSH's shared config syntax, once for sshd_config, ssh_config and
// whatever else reads OpenSSH's formats: the bounds of a hostile file, the
// bounded reader, the line lexer (strdelim, argv_split), and the time and
// size values (convtime, scan_scaled).
//
// The lexer and the limits are in feth::config::syntax; split_arguments,
// parse_time_interval and parse_byte_size keep their feth::config names,
// which their users (both configs and their tests) already call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace feth::config {
namespace syntax {

// A config file is hostile input: what one line and one file may cost.
inline constexpr std::size_t kMaxLineLength = 8192;
inline constexpr std::size_t kMaxFileSize = 1024 * 1024;

// ASCII lower case (keywords, host names), whatever the locale.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
std::string ascii_lower(std::string_view s);

// ASCII case-insensitive equality (keywords, yes/no, "none"), whatever the
// locale.
bool iequals(std::string_view a, std::string_view b);

// The entry of a keyword table (sshd_config's, ssh_config's) whose `name` is
// `word` in any ASCII case, as both readconf.c and servconf.c look keywords
// up; nullptr if there is none.
template <typename Entry, std::size_t N>
const Entry* find_keyword(const Entry (&table)[N], std::string_view word)
{
    for (const Entry& e : table)
        if (iequals(e.name, word)) return &e;
    return nullptr;
}

// True when `word` is one of `list`'s (exactly).
template <typename List>
bool contains(const List& list, std::string_view word)
{
    return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

// A keyword's words and what each means, as OpenSSH's multistate tables
// (readconf.c, servconf.c), in OpenSSH's order: the parser reads any word,
// -G and -T print a value's first word, as fmt_multistate_int does.
template <typename T>
struct Word {
    std::string_view word;
    T value;
};

// The value `v` names: in any ASCII case with `any_case` (ssh's
// multistates), else exactly (sshd's PermitTunnel); none if no word does.
template <typename T, std::size_t N>
std::optional<T> value_of(const Word<T> (&words)[N], std::string_view v, bool any_case)
{
    for (const auto& w : words)
        if (any_case ? iequals(v, w.word) : v == w.word) return w.value;
    return std::nullopt;
}

// The first word for `value` ("?" for a value no word has).
template <typename T, std::size_t N>
constexpr std::string_view word_of(const Word<T> (&words)[N], const T& value)
{
    for (const auto& w : words)
        if (w.value == value) return w.word;
    return "?";
}

// How read_bounded_file treats what sshd and ssh treat differently. The
// defaults are sshd's (a config file must exist and be a file; a pipe is
// read until its writer closes it).
struct ReadRules {
    // ssh's optional files: a path that does not exist (ENOENT, ENOTDIR)
    // reads as empty with `missing` set instead of throwing.
    bool missing_is_empty = false;
    // ssh reads a directory as empty (its getline just stops); sshd
    // refuses it (EISDIR).
    bool directory_is_empty = false;
    // ssh's SSHCONF_CHECKPERM (~/.ssh/config and what it includes): owned
    // by root or by us and not group- or world-writable, else InputError
    // "Bad owner or permissions on PATH".
    bool check_owner = false;
    // O_NONBLOCK: a FIFO without a writer cannot hang the reader; what is
    // not there yet (EAGAIN) ends the file.
    bool nonblocking = false;
};

struct BoundedFile {
    std::string text;
    bool missing = false; // only with ReadRules::missing_is_empty
};

// Reads `path` whole, but at most kMaxFileSize + 1 bytes: one byte past the
// limit, so that a caller tells "too large" from "exactly at the limit"
// even for pipes, whose size fstat cannot tell. Throws SystemError naming
// `context` and the call that failed.
BoundedFile read_bounded_file(const std::string& path, const std::string& context, const ReadRules& rules);
// sshd's rules: the text, or an error (a directory: EISDIR).
std::string read_bounded_file(const std::string& path, const std::string& context);

// The keyword as sshd's strdelim() finds it, and the rest after whitespace
// and at most one '='. Empty keyword: blank or comment line.
struct LineParts {
    std::string_view keyword;
    std::string_view rest;
    bool bare_equals = false; // "=value" with no keyword before it
};

LineParts take_keyword(std::string_view line);

// sshd's argv_split(..., terminate_on_comment=1): appends the words of `s`
// to `out`. Returns false for an unterminated quote.
bool split_words(std::string_view s, std::vector<std::string>& out);

} // namespace syntax

// Splits a config line as sshd does (strdelim for the keyword, argv_split for
// the arguments): the result is the keyword then its arguments; empty for a
// blank or comment line. Arguments are whitespace separated, may be "..." or
// '...' quoted, know the escapes \" \' \\ and (unquoted) "\ ", and an
// argument starting with '#' ends the line. The first argument may be joined
// to the keyword by one '='. Throws InputError for an unterminated quote.
std::vector<std::string> split_arguments(std::string_view text);

// sshd's convtime: "120", "2m", "1h30m" (s, m, h, d, w). nullopt if malformed.
std::optional<unsigned> parse_time_interval(std::string_view text);

// ssh's scan_scaled, as RekeyLimit takes it: a number of bytes with an
// optional K, M, G or T suffix (powers of 1024).
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

} // namespace feth::config

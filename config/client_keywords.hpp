// The ssh_config keywords feth-ssh knows, each stated once in
// client_keywords.cpp's table (KeywordInfo, client_config.hpp): an honoured
// keyword's parser reads a KeywordLine into the configuration, its ssh -G
// printer prints from a DumpSource. ClientConfigParser (client_config.cpp)
// reads the lines, applies Host, Match and Include and hands each other
// honoured line to its keyword's parser.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "config/client_config.hpp"

namespace feth::config {

// One line of an honoured keyword, as its parser sees it. Values are
// checked in every block, as ssh does; stored only where the block applies
// (`active`) and nothing set the keyword before (first value wins).
struct KeywordLine {
    ClientConfig& config;
    const AlgorithmSupport& support;
    const std::string& host;              // what Host lines match (HostName's %h)
    std::string_view line;                // the whole line, for the rest-of-line keywords
    const std::string& name;              // the keyword as the table spells it
    const std::vector<std::string>& args; // at least one
    const std::string& v;                 // args[0]
    std::string where;                    // "<origin> line <n>: "
    bool active;

    // "bad value 'v' for Name (expected ...)"
    InputError bad(const std::string& allowed) const;
    InputError extra_arguments() const;
    // Exactly one non-empty argument.
    void single() const;
    template <typename Field, typename Value>
    void store(Field& field, Value value) const
    {
        if (active && !field) field = std::move(value);
    }
    void flag(std::optional<bool>& field) const;
    // A time in seconds; "none" leaves the field unset, as in ssh.
    void seconds(std::optional<unsigned>& field) const;
    // UserKnownHostsFile, GlobalKnownHostsFile: paths, or "none" alone
    // (the user list drops it: none; the global one keeps it, as -G shows).
    std::vector<std::string> hosts_files(bool keep_none) const;
    // IdentityFile, CertificateFile: ssh drops duplicates and bounds the
    // list; `what` is "identity" or "certificate" for the error.
    void add_file(std::vector<std::string>& files, std::string_view what) const;
};

// What ssh -G prints from: the configuration before resolve_defaults()
// (`raw`, for the values ssh prints as written), after it, and the host as
// given.
struct DumpSource {
    const ClientConfig& raw;
    const ClientConfig& c;
    const std::string& host;
};

// The table's entry for a keyword in lower case; nullptr: neither ssh's
// nor ours.
const KeywordInfo* find_client_keyword(std::string_view lower_kw);

// Host, Match and Include steer the parser itself: they have no parser of
// their own in the table.
constexpr bool is_directive(std::string_view name) { return name == "Host" || name == "Match" || name == "Include"; }

} // namespace feth::config

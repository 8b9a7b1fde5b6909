#include "host_key_check.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <memory>

#include "config/known_hosts_hash.hpp"
#include "config/match.hpp"

namespace feth::client {
namespace {

struct KeyFree {
    void operator()(ssh_key k) const { ssh_key_free(k); }
};
using Key = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

struct Fields {
    std::string marker; // "@revoked", "@cert-authority" or empty
    std::string names;
    std::string type;
    std::string blob;
};

// Splits a known_hosts line as OpenSSH's hostfile.c does (blanks between
// fields, an optional marker first, anything after the key a comment).
// False for a comment, an empty line or fewer than three fields.
bool split_line(const std::string& line, Fields& f)
{
    std::vector<std::string> words;
    std::size_t i = 0;
    while (words.size() < 5) {
        i = line.find_first_not_of(" \t", i);
        if (i == std::string::npos) break;
        std::size_t end = line.find_first_of(" \t", i);
        words.push_back(line.substr(i, end == std::string::npos ? std::string::npos : end - i));
        if (end == std::string::npos) break;
        i = end;
    }
    if (words.empty() || words[0][0] == '#') return false;
    std::size_t k = 0;
    if (words[0][0] == '@') f.marker = words[k++];
    if (words.size() < k + 3) return false;
    f.names = words[k];
    f.type = words[k + 1];
    f.blob = words[k + 2];
    return true;
}

Key parse_key(const Fields& f)
{
    const enum ssh_keytypes_e t = ssh_key_type_from_name(f.type.c_str());
    if (t == SSH_KEYTYPE_UNKNOWN) return nullptr;
    ssh_key k = nullptr;
    if (ssh_pki_import_pubkey_base64(f.blob.c_str(), t, &k) != SSH_OK) return nullptr;
    return Key(k);
}

// The salt of "|1|salt|hash", decoded; nullopt when `entry` is not one.
std::optional<std::string> hash_salt(const std::string& entry)
{
    if (entry.rfind("|1|", 0) != 0) return std::nullopt;
    const std::size_t bar = entry.find('|', 3);
    if (bar == std::string::npos || bar == 3 || entry.find('|', bar + 1) != std::string::npos) return std::nullopt;
    const std::string b64 = entry.substr(3, bar - 3);
    if (b64.size() % 4 != 0 || b64.size() > 128) return std::nullopt;
    std::string salt(b64.size(), '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(salt.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    if (n < 0) return std::nullopt;
    const auto pad = static_cast<std::size_t>(std::count(b64.end() - std::min<std::size_t>(2, b64.size()), b64.end(), '='));
    salt.resize(static_cast<std::size_t>(n) - std::min<std::size_t>(pad, static_cast<std::size_t>(n)));
    return salt;
}

bool hashed_name_is(const std::string& entry, const std::string& name)
{
    const auto salt = hash_salt(entry);
    return salt && !salt->empty() && config::hashed_known_hosts_name(name, *salt) == entry;
}

// As OpenSSH's match_maybe_hashed: a hashed entry names one host; a plain
// one is a pattern list ('!' wins).
bool names_host(const std::string& names, const std::string& host)
{
    if (names.rfind("|1|", 0) == 0) return hashed_name_is(names, host);
    std::string lower = host;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return config::match_pattern_list(lower, names, true) == 1;
}

// Where a line with `marker` names `host` with `key` (any key when null).
std::optional<std::string> marked_host_key(const std::vector<KnownHostsFile>& files, const std::string& host,
                                           const std::string& marker, ssh_key key)
{
    for (const auto& file : files) {
        std::ifstream in(file.read_path);
        std::string line;
        for (std::size_t n = 1; std::getline(in, line) && n <= 1000000; ++n) {
            Fields f;
            if (!split_line(line, f) || f.marker != marker || !names_host(f.names, host)) continue;
            Key k = parse_key(f);
            if (k && (key == nullptr || ssh_key_cmp(k.get(), key, SSH_KEY_CMP_PUBLIC) == 0))
                return file.display + ":" + std::to_string(n);
        }
    }
    return std::nullopt;
}

} // namespace

std::string exact_known_hosts_line_problem(const std::string& line, const std::vector<std::string>& names)
{
    Fields f;
    if (!split_line(line, f)) return "not a known_hosts line";
    if (!f.marker.empty()) return "a marker (" + f.marker.substr(0, 32) + ")";
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = f.names.find(',', start);
        const std::string entry = f.names.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (entry.empty()) return "an empty host name";
        if (entry.find_first_of("*?!") != std::string::npos) return "a host pattern";
        bool ok = std::find(names.begin(), names.end(), entry) != names.end();
        for (std::size_t i = 0; !ok && i < names.size(); ++i) ok = hashed_name_is(entry, names[i]);
        if (!ok) return "a host name that is not the destination";
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (!parse_key(f)) return "no key of type " + f.type.substr(0, 64);
    return "";
}

std::string known_hosts_host_port(const std::string& host, unsigned port)
{
    return port == 22 ? host : "[" + host + "]:" + std::to_string(port);
}

std::optional<std::string> revoked_host_key(const std::vector<KnownHostsFile>& files, const std::string& host,
                                            ssh_key key)
{
    return marked_host_key(files, host, "@revoked", key);
}

std::optional<std::string> certificate_authority(const std::vector<KnownHostsFile>& files, const std::string& host,
                                                 ssh_key ca)
{
    return marked_host_key(files, host, "@cert-authority", ca);
}

KnownHostKey known_host_key(const std::vector<KnownHostsFile>& files, const std::string& host, ssh_key key)
{
    KnownHostKey state = KnownHostKey::Unknown;
    for (const auto& file : files) {
        std::ifstream in(file.read_path);
        std::string line;
        for (std::size_t n = 1; std::getline(in, line) && n <= 1000000; ++n) {
            Fields f;
            if (!split_line(line, f) || !f.marker.empty()) continue;
            struct ssh_knownhosts_entry* entry = nullptr;
            if (ssh_known_hosts_parse_line(host.c_str(), line.c_str(), &entry) != SSH_OK || entry == nullptr) continue;
            const bool same =
                entry->publickey != nullptr && ssh_key_cmp(entry->publickey, key, SSH_KEY_CMP_PUBLIC) == 0;
            ssh_knownhosts_entry_free(entry);
            if (same) return KnownHostKey::Known;
            state = KnownHostKey::Changed;
        }
    }
    return state;
}

} // namespace feth::client

#include "host_cert.hpp"

#include <libssh/libssh.h>


#include "config/match.hpp"

namespace feth::client {

const char* const kCertificateFirstHostKeyAlgorithms =
    "ssh-ed25519-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp256-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp384-cert-v01@openssh.com,"
    "ecdsa-sha2-nistp521-cert-v01@openssh.com,"
    "rsa-sha2-512-cert-v01@openssh.com,"
    "rsa-sha2-256-cert-v01@openssh.com,"
    "ssh-ed25519,"
    "ecdsa-sha2-nistp256,"
    "ecdsa-sha2-nistp384,"
    "ecdsa-sha2-nistp521,"
    "sk-ssh-ed25519@openssh.com,"
    "sk-ecdsa-sha2-nistp256@openssh.com,"
    "rsa-sha2-512,"
    "rsa-sha2-256";

namespace {

// OpenSSH's SSHKEY_CERT_MAX_PRINCIPALS.
constexpr std::size_t kMaxPrincipals = 256;
// ssh's CASignatureAlgorithms default (myproposal.h SSH_ALLOWED_CA_SIGALGS).
constexpr std::string_view kAllowedCaSignatureAlgorithms =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
    "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,"
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256";
constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";

// Reads SSH wire fields (RFC 4251 section 5) from hostile bytes: every
// read checks what is left first and fails without moving on short input.
class WireReader {
public:
    explicit WireReader(std::string_view bytes) : rest_(bytes) {}

    bool u32(std::uint32_t& v)
    {
        if (rest_.size() < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(rest_[static_cast<std::size_t>(i)]);
        rest_.remove_prefix(4);
        return true;
    }
    bool u64(std::uint64_t& v)
    {
        std::uint32_t high = 0, low = 0;
        if (rest_.size() < 8) return false;
        u32(high);
        u32(low);
        v = (static_cast<std::uint64_t>(high) << 32) | low;
        return true;
    }
    bool string(std::string_view& s)
    {
        std::uint32_t len = 0;
        if (rest_.size() < 4) return false;
        WireReader peek(rest_);
        peek.u32(len);
        if (peek.rest_.size() < len) return false;
        s = peek.rest_.substr(0, len);
        rest_ = peek.rest_.substr(len);
        return true;
    }
    // A string that may hold no NUL byte (OpenSSH's sshbuf_get_cstring).
    bool text(std::string_view& s) { return string(s) && s.find('\0') == std::string_view::npos; }
    bool empty() const { return rest_.empty(); }
    std::size_t left() const { return rest_.size(); }

private:
    std::string_view rest_;
};

void put_string(std::string& out, std::string_view s)
{
    const auto n = static_cast<std::uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
    out.append(s);
}

// The certified key's fields after the nonce, per certificate type,
// re-encoded as the plain key's blob. False when the type is unknown or a
// field is missing.
bool read_certified_key(std::string_view cert_type, WireReader& r, std::string& plain, std::string& why)
{
    struct Layout {
        std::string_view cert_type;
        std::string_view plain_type;
        int fields; // strings (mpints, curve, point, application) after the nonce
    };
    static constexpr Layout kLayouts[] = {
        {"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", 1},
        {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", 2},
        {"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384", 2},
        {"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521", 2},
        {"ssh-rsa-cert-v01@openssh.com", "ssh-rsa", 2},
        {"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", 2},
        {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", 3},
    };
    for (const auto& layout : kLayouts) {
        if (layout.cert_type != cert_type) continue;
        plain.clear();
        put_string(plain, layout.plain_type);
        for (int i = 0; i < layout.fields; ++i) {
            std::string_view field;
            if (!r.string(field)) {
                why = "truncated key";
                return false;
            }
            put_string(plain, field);
        }
        return true;
    }
    why = "unsupported certificate type";
    return false;
}

// A section of name/data string pairs (critical options, extensions).
bool well_formed_pairs(std::string_view section)
{
    WireReader r(section);
    while (!r.empty()) {
        std::string_view name, data;
        if (!r.text(name) || !r.string(data)) return false;
    }
    return true;
}

bool read_principals(std::string_view section, std::vector<std::string>& out)
{
    WireReader r(section);
    while (!r.empty()) {
        std::string_view principal;
        if (out.size() >= kMaxPrincipals || !r.text(principal)) return false;
        out.emplace_back(principal);
    }
    return true;
}

// The signature's algorithm name: its first string, followed by the
// signature itself (a security key's flags and counter may follow).
std::optional<std::string_view> signature_algorithm(std::string_view signature)
{
    WireReader r(signature);
    std::string_view name, sig;
    if (!r.text(name) || !r.string(sig)) return std::nullopt;
    return name;
}

} // namespace

KeyPtr key_from_blob(std::string_view blob)
{
    ssh_string s = ssh_string_new(blob.size());
    if (s == nullptr) return nullptr;
    ssh_key key = nullptr;
    if (blob.empty() || ssh_string_fill(s, blob.data(), blob.size()) != 0 ||
        ssh_pki_import_pubkey_blob(s, &key) != SSH_OK)
        key = nullptr;
    ssh_string_free(s);
    return KeyPtr(key);
}

bool is_certificate_type(std::string_view type_name)
{
    return type_name.size() > kCertSuffix.size() &&
           type_name.substr(type_name.size() - kCertSuffix.size()) == kCertSuffix;
}

std::optional<HostCertificate> parse_host_certificate(std::string_view blob, std::string& why)
{
    WireReader r(blob);
    HostCertificate c;
    std::string_view type_name, nonce, key_id, principals, critical, extensions, reserved, ca_key, signature;
    std::uint64_t serial = 0;
    if (!r.text(type_name) || !r.string(nonce)) {
        why = "truncated";
        return std::nullopt;
    }
    if (!read_certified_key(type_name, r, c.plain_key, why)) return std::nullopt;
    if (!r.u64(serial) || !r.u32(c.type) || !r.text(key_id) || !r.string(principals) || !r.u64(c.valid_after) ||
        !r.u64(c.valid_before) || !r.string(critical) || !r.string(extensions) || !r.string(reserved) ||
        !r.string(ca_key)) {
        why = "truncated";
        return std::nullopt;
    }
    c.signed_part = std::string(blob.substr(0, blob.size() - r.left()));
    if (!r.string(signature)) {
        why = "truncated signature";
        return std::nullopt;
    }
    if (!r.empty()) {
        why = "data after the signature";
        return std::nullopt;
    }
    if (c.type != kUserCertificate && c.type != kHostCertificate) {
        why = "unknown certificate type " + std::to_string(c.type);
        return std::nullopt;
    }
    if (!read_principals(principals, c.principals)) {
        why = "malformed principal list";
        return std::nullopt;
    }
    if (!well_formed_pairs(critical) || !well_formed_pairs(extensions)) {
        why = "malformed critical options or extensions";
        return std::nullopt;
    }
    c.has_critical_options = !critical.empty();
    c.ca_key = std::string(ca_key);
    c.signature = std::string(signature);
    return c;
}

std::string certificate_signature_problem(const HostCertificate& cert)
{
    KeyPtr ca = key_from_blob(cert.ca_key);
    if (!ca) return "the CA key does not parse";
    const char* ca_type = ssh_key_type_to_char(ssh_key_type(ca.get()));
    if (ca_type == nullptr || is_certificate_type(ca_type)) return "the CA key is not a plain key";
    if (!signature_algorithm(cert.signature)) return "malformed CA signature";
    if (ssh_pki_verify_signature_blob(ca.get(), reinterpret_cast<const unsigned char*>(cert.signature.data()),
                                      cert.signature.size(),
                                      reinterpret_cast<const unsigned char*>(cert.signed_part.data()),
                                      cert.signed_part.size()) != SSH_OK)
        return "the CA signature does not verify";
    return "";
}

std::string certificate_host_problem(const HostCertificate& cert, const std::string& name, std::uint64_t now)
{
    if (cert.type != kHostCertificate) return "Certificate invalid: not a host certificate";
    if (now < cert.valid_after) return "Certificate invalid: not yet valid";
    if (now >= cert.valid_before) return "Certificate invalid: expired";
    if (cert.principals.empty()) return "Certificate lacks principal list";
    bool listed = false;
    for (const auto& principal : cert.principals) listed = listed || config::match_pattern(name, principal);
    if (!listed) return "Certificate invalid: name is not a listed principal";
    if (cert.has_critical_options) return "Certificate contains unsupported critical options";
    const auto algorithm = signature_algorithm(cert.signature);
    if (!algorithm || config::match_pattern_list(*algorithm, kAllowedCaSignatureAlgorithms, false) != 1)
        return "Certificate signed with disallowed algorithm";
    return "";
}

} // namespace feth::client

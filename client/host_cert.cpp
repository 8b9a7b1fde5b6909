#include "host_cert.hpp"

#include <libssh/libssh.h>

#include "config/match.hpp"
#include "ssh_wire.hpp"

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
using ssh_wire::put_string;
using ssh_wire::Reader;
using ssh_wire::Truncated;

// The certified key's fields after the nonce, per certificate type,
// re-encoded as the plain key's blob. False when the type is unknown.
bool read_certified_key(std::string_view cert_type, Reader& r, std::string& plain)
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
        for (int i = 0; i < layout.fields; ++i) put_string(plain, r.string());
        return true;
    }
    return false;
}

// A section of name/data string pairs (critical options, extensions).
bool well_formed_pairs(std::string_view section)
{
    Reader r(section);
    try {
        while (r.left() != 0) {
            (void)r.text();
            (void)r.string();
        }
    } catch (const Truncated&) {
        return false;
    }
    return true;
}

bool read_principals(std::string_view section, std::vector<std::string>& out)
{
    Reader r(section);
    try {
        while (r.left() != 0) {
            if (out.size() >= kMaxPrincipals) return false;
            out.emplace_back(r.text());
        }
    } catch (const Truncated&) {
        return false;
    }
    return true;
}

// The signature's algorithm name: its first string, followed by the
// signature itself (a security key's flags and counter may follow).
std::optional<std::string_view> signature_algorithm(std::string_view signature)
{
    Reader r(signature);
    try {
        const std::string_view name = r.text();
        (void)r.string();
        return name;
    } catch (const Truncated&) {
        return std::nullopt;
    }
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
    return type_name.size() > kCertificateSuffix.size() &&
           type_name.substr(type_name.size() - kCertificateSuffix.size()) == kCertificateSuffix;
}

std::optional<HostCertificate> parse_host_certificate(std::string_view blob, std::string& why)
{
    Reader r(blob);
    HostCertificate c;
    std::string_view principals, critical, extensions, signature;
    try {
        const std::string_view type_name = r.text();
        (void)r.string(); // nonce
        if (!read_certified_key(type_name, r, c.plain_key)) {
            why = "unsupported certificate type";
            return std::nullopt;
        }
        (void)r.u64(); // serial
        c.type = r.u32();
        (void)r.text(); // key id
        principals = r.string();
        c.valid_after = r.u64();
        c.valid_before = r.u64();
        critical = r.string();
        extensions = r.string();
        (void)r.string(); // reserved
        c.ca_key = std::string(r.string());
        c.signed_part = std::string(blob.substr(0, r.pos()));
        signature = r.string();
    } catch (const Truncated&) {
        why = "truncated";
        return std::nullopt;
    }
    if (r.left() != 0) {
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

// Host certificates as ssh checks them (OpenSSH PROTOCOL.certkeys;
// sshkey.c cert_parse, sshkey_cert_check_host): libssh parses the
// certificate a server sends but checks nothing in it. The bytes come from
// the server: every length is checked, any input gives an answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tunnel/ssh_handles.hpp"

namespace feth::client {

// The host key algorithms feth-ssh proposes, certificates first as ssh's
// default HostKeyAlgorithms, when a @cert-authority line names the host
// and the user set no HostKeyAlgorithms.
extern const char* const kCertificateFirstHostKeyAlgorithms;

struct HostCertificate {
    std::string plain_key;          // the certified key as a plain key blob
    std::uint32_t type = 0;         // 1 user, 2 host
    std::vector<std::string> principals;
    std::uint64_t valid_after = 0;
    std::uint64_t valid_before = 0;
    bool has_critical_options = false;
    std::string ca_key;             // the signature key's blob
    std::string signature;          // the CA's signature blob
    std::string signed_part;        // what it signs: the blob up to it
};

constexpr std::uint32_t kUserCertificate = 1;
constexpr std::uint32_t kHostCertificate = 2;

// A public key from its wire form (a plain key blob); null when it does
// not parse.
KeyPtr key_from_blob(std::string_view blob);

// What a certificate's key type name ends with (PROTOCOL.certkeys).
constexpr std::string_view kCertificateSuffix = "-cert-v01@openssh.com";

// Whether a key type name is a certificate's ("...-cert-v01@openssh.com").
bool is_certificate_type(std::string_view type_name);

// Parses a certificate blob (the wire form a server sends). nullopt, with
// `why`, when it is not one: a bad length, an unknown type, a malformed
// section, too many principals, bytes after the signature.
std::optional<HostCertificate> parse_host_certificate(std::string_view blob, std::string& why);

// "" when the CA key (plain, not a certificate) signed the certificate,
// else why not. ssh refuses such a certificate outright: it does not parse.
std::string certificate_signature_problem(const HostCertificate& cert);

// "" when the certificate is good for `name` (HostKeyAlias, else HostName)
// at `now`, else ssh's reason: a host certificate, valid now, with the name
// among its principals (patterns), no critical options, signed with an
// algorithm CASignatureAlgorithms' default allows.
std::string certificate_host_problem(const HostCertificate& cert, const std::string& name, std::uint64_t now);

} // namespace feth::client

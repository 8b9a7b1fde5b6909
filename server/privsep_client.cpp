// The unprivileged child's calls into its monitor.
#include "privsep.hpp"
#include "privsep_wire.hpp"
#include "tunnel/error.hpp"
#include "tunnel/ssh_handles.hpp"

namespace feth::server {
namespace {

constexpr const char* kPeer = "monitor";

privsep::Message ask(int sock, const privsep::Message& request, privsep::MsgType answer_type)
{
    privsep::send_message(sock, request, kPeer);
    privsep::Message answer;
    if (!privsep::recv_message(sock, answer, kPeer)) throw InputError("the monitor closed the connection");
    if (answer.type() != static_cast<std::uint32_t>(answer_type))
        throw InputError(std::string("monitor answered with ") + privsep::msg_type_name(answer.type()));
    return answer;
}

MonitorClient::AuthAnswer auth_answer(privsep::Message& a)
{
    const std::uint32_t v = a.get_u32();
    a.expect_end();
    if (v > static_cast<std::uint32_t>(MonitorClient::AuthAnswer::DeniedDisconnect))
        throw InputError("monitor sent an unknown authentication answer " + std::to_string(v));
    return static_cast<MonitorClient::AuthAnswer>(v);
}

} // namespace

std::string MonitorClient::sign_exchange_hash(const std::string& algorithm, const std::string& hostkey_blob,
                                              const std::string& hash)
{
    privsep::Message m(privsep::MsgType::HostKeySign);
    m.put_string(algorithm);
    m.put_string(hostkey_blob);
    m.put_string(hash);
    auto a = ask(sock_.get(), m, privsep::MsgType::HostKeySignAnswer);
    std::string sig = a.get_string(privsep::kMaxSignature);
    a.expect_end();
    return sig;
}

MonitorClient::AuthAnswer MonitorClient::key_allowed(const std::string& user, const std::string& key_blob)
{
    privsep::Message m(privsep::MsgType::KeyAllowed);
    m.put_string(user.substr(0, privsep::kMaxUserName));
    m.put_string(key_blob);
    auto a = ask(sock_.get(), m, privsep::MsgType::KeyAllowedAnswer);
    return auth_answer(a);
}

MonitorClient::AuthAnswer MonitorClient::verify_publickey(const std::string& user, const std::string& service,
                                                          const std::string& method, const std::string& algorithm,
                                                          const std::string& key_blob,
                                                          const std::string& hostkey_blob,
                                                          const std::string& signature)
{
    privsep::Message m(privsep::MsgType::PubkeyVerify);
    m.put_string(user.substr(0, privsep::kMaxUserName));
    m.put_string(service);
    m.put_string(method);
    m.put_string(algorithm);
    m.put_string(key_blob);
    m.put_string(hostkey_blob);
    m.put_string(signature);
    auto a = ask(sock_.get(), m, privsep::MsgType::PubkeyVerifyAnswer);
    return auth_answer(a);
}

MonitorClient::Tunnel MonitorClient::open_tunnel(std::uint32_t mode, std::uint32_t unit)
{
    privsep::Message m(privsep::MsgType::TunOpen);
    m.put_u32(mode);
    m.put_u32(unit);
    auto a = ask(sock_.get(), m, privsep::MsgType::TunOpenAnswer);
    Tunnel t;
    t.ok = a.get_u32() == 1;
    if (!t.ok) {
        t.debug_line = a.get_string(privsep::kMaxText);
        t.reason = a.get_string(privsep::kMaxText);
        a.expect_end();
        return t;
    }
    t.id = a.get_u32();
    std::uint32_t dev_mode = a.get_u32();
    std::string name = a.get_string(privsep::kMaxText);
    std::string io_name = a.get_string(privsep::kMaxText);
    std::string backend = a.get_string(privsep::kMaxBackendName);
    a.expect_end();
    auto tm = tun_mode_from_wire(dev_mode);
    if (!tm) throw InputError("monitor sent a bad tunnel mode");
    t.device = make_received_device(std::move(backend), std::move(name), std::move(io_name), *tm,
                                     std::move(a.fds()));
    return t;
}

void MonitorClient::close_tunnel(std::uint32_t id)
{
    privsep::Message m(privsep::MsgType::TunClose);
    m.put_u32(id);
    privsep::send_message(sock_.get(), m, kPeer);
}

void MonitorClient::report_stats(std::uint32_t id, const TunnelCounters& c)
{
    privsep::Message m(privsep::MsgType::TunStats);
    m.put_u32(id);
    for (std::uint64_t v : {c.frames_out, c.bytes_out, c.frames_in, c.bytes_in, c.dropped, c.device_busy, c.oversize})
        m.put_u64(v);
    privsep::send_message(sock_.get(), m, kPeer);
}

} // namespace feth::server

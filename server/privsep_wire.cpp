#include "privsep_wire.hpp"


namespace feth::server::privsep {

const char* msg_type_name(std::uint32_t type)
{
    switch (static_cast<MsgType>(type)) {
    case MsgType::KeyAllowed: return "KeyAllowed";
    case MsgType::KeyAllowedAnswer: return "KeyAllowedAnswer";
    case MsgType::PubkeyVerify: return "PubkeyVerify";
    case MsgType::PubkeyVerifyAnswer: return "PubkeyVerifyAnswer";
    case MsgType::HostKeySign: return "HostKeySign";
    case MsgType::HostKeySignAnswer: return "HostKeySignAnswer";
    case MsgType::TunOpen: return "TunOpen";
    case MsgType::TunOpenAnswer: return "TunOpenAnswer";
    case MsgType::TunUp: return "TunUp";
    case MsgType::TunClose: return "TunClose";
    case MsgType::TunStats: return "TunStats";
    }
    return "unknown";
}

} // namespace feth::server::privsep

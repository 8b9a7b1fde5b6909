// Frames and the point-to-point family header, as a peer or a device may
// send them: every verdict must be consistent with the bytes, and nothing
// may read outside the frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tunnel/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace feth;
    std::span<const std::uint8_t> frame(data, size);
    for (TunMode mode : {TunMode::Ethernet, TunMode::PointToPoint}) {
        wire::Verdict v = wire::check_frame(mode, frame);
        if (v == wire::Verdict::Ok) {
            if (size > wire::kMaxFrame) std::abort();
            if (mode == TunMode::Ethernet && size < wire::kEthernetHeaderLen) std::abort();
            if (mode == TunMode::PointToPoint) {
                auto af = wire::wire_af_for_ip(frame.subspan(wire::kAfHeaderLen));
                if (!af) std::abort();
                std::uint8_t header[wire::kAfHeaderLen];
                if (!wire::put_af_header(std::span<std::uint8_t, wire::kAfHeaderLen>(header),
                                         frame.subspan(wire::kAfHeaderLen)) ||
                    wire::load_be32(header) != *af)
                    std::abort();
            }
        }
    }
    if (size >= 4) (void)tun_mode_from_wire(wire::load_be32(data));
    (void)parse_tun_unit(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}

// The child's view of a device the monitor opened: descriptors only. The
// backend that opened it wraps them in its own I/O (adopt_device); the
// interface itself belongs to the monitor, which removes it when the tunnel
// or the connection ends.
#include "privsep.hpp"
#include "tunnel/error.hpp"

namespace feth::server {

std::unique_ptr<Device> make_received_device(std::string backend, std::string name, std::string io_name, TunMode mode,
                                             std::vector<UniqueFd> fds)
{
    AdoptRequest request;
    request.backend = std::move(backend);
    request.mode = mode;
    request.name = std::move(name);
    request.io_name = std::move(io_name);
    request.fds = std::move(fds);
    return adopt_device(std::move(request));
}

} // namespace feth::server

#pragma once

// Internal to runtime: the websocket side of Incus exec (incus_exec.cpp).

#include "rockpool/runtime/incus.hpp"

#include <boost/json/object.hpp>

#include <functional>

namespace rockpool::runtime {

/// Attaches to an exec operation's websockets (fds: the operation's
/// metadata.fds, name -> secret) on Incus's unix socket. wait_for_exit
/// blocks until the operation ends and returns the command's exit code.
specs::result<std::unique_ptr<exec_session>> attach_exec(
    const std::string& socket, const std::string& project, const std::string& operation,
    const boost::json::object& fds, bool tty, std::function<specs::result<int>()> wait_for_exit);

}  // namespace rockpool::runtime

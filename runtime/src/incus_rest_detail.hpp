#pragma once

// Internal to incus_rest's source files (incus_rest.cpp, incus_host.cpp,
// incus_storage.cpp).

#include "rockpool/runtime/incus_rest.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <string>

namespace rockpool::runtime {

struct incus_rest::response {
  long http = 0;
  boost::json::value body;
  std::string etag;
};

namespace detail {

/// The string members of obj[key] (Incus config and device maps, whose keys
/// contain dots, so they are not read as paths).
std::map<std::string, std::string> string_members(const boost::json::value& obj,
                                                  const char* key = nullptr);

/// An instance as Incus describes it (GET /1.0/instances/NAME?recursion=1,
/// or one entry of the collection with recursion=1): config, devices,
/// profiles and, when the state is included, its IPv4 address.
instance_info instance_of(const boost::json::value& metadata);

}  // namespace detail

}  // namespace rockpool::runtime

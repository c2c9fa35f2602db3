#pragma once

// Internal to incus_rest's source files (incus_rest.cpp, incus_storage.cpp).

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

}  // namespace detail

}  // namespace rockpool::runtime

#pragma once

#include "rockpool/specs/codec.hpp"
#include "rockpool/specs/schema.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rockpool::specs {

struct validation_context;

/// A kind's rules beyond its schema (cross-field and cross-object checks):
/// appends its findings to out. Each kind's live in its folder
/// (actors/reconcilers/KIND/rules.cpp); the table is actors::kind_rules().
using semantic_rule = std::function<void(const json::value& obj, const validation_context& ctx,
                                         std::vector<field_error>& out)>;

/// What a kind's cross-object checks decide over, as names: a PortRoute's
/// "workspace W port P", every NestedHost's "inner networks". The store
/// admits one write per name at a time, from its check to its commit, so two
/// concurrent writes cannot both pass a uniqueness check.
using exclusion_keys = std::function<std::vector<std::string>(const json::value& obj)>;

struct kind_rule {
  semantic_rule check;
  exclusion_keys exclusive;  // may be empty: the checks read no other object
};
using semantic_rules = std::map<std::string, kind_rule, std::less<>>;

/// What validation may consult beyond the object itself: objects already
/// stored (server side), the networks of the outer host, and the kinds' rules.
struct validation_context {
  /// Returns the stored object kind/name, if any. May be empty (client side, no server).
  std::function<std::optional<json::value>(const std::string& kind, const std::string& name)>
      lookup;
  /// Returns every stored object of a kind. May be empty.
  std::function<std::vector<json::value>(const std::string& kind)> list;
  /// IPv4 CIDRs that nested hosts' inner networks must not overlap.
  std::vector<std::string> outer_networks;
  /// The semantic rules by kind; without them only schemas are checked.
  const semantic_rules* rules = nullptr;
  /// Whether lookup and list see every stored object (the server). A client
  /// sees only its own input, so rules leave "does not exist" to the server.
  bool sees_store = false;
};

/// True iff s is a DNS-1123 label: 1-63 of [a-z0-9-], alphanumeric at both ends.
bool is_dns1123_label(std::string_view s);

/// Parses "a.b.c.d/n". Returns {network address, prefix length} or nullopt.
std::optional<std::pair<std::uint32_t, int>> parse_cidr(std::string_view s);
/// True iff two CIDRs share at least one address.
bool cidrs_overlap(std::string_view a, std::string_view b);

/// Fills schema defaults into the spec of an object of a known kind.
void default_object(json::value& obj);

/// Validates one object as submitted by a user (top level, metadata, spec, and
/// the kind's semantic rules). Every problem is returned, not only the first.
std::vector<field_error> validate_object(const json::value& obj, const validation_context& ctx);

/// Removes the fields validate_object would call unknown (top level,
/// metadata, spec) from obj of a known kind; returns their paths. For the
/// API's fieldValidation=Warn and Ignore.
std::vector<std::string> drop_unknown_fields(json::value& obj);

/// Validates a status written through the status path.
std::vector<field_error> validate_status(const json::value& obj);

/// Decodes nothing: defaults and validates decoded documents as one input,
/// including rules across documents (duplicates, a PortRoute of a workspace in
/// the same input, template references). Diagnostics carry file/document/line.
std::vector<diagnostic> validate_input(std::vector<document>& docs, const validation_context& ctx);

/// "kind/name" key of an object, e.g. "Workspace/demo".
std::string object_key(const json::value& obj);

}  // namespace rockpool::specs

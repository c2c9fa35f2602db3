#include "rockpool/specs/schema.hpp"

#include "crd_json.hpp"

#include "rockpool/crds/embedded.hpp"
#include "rockpool/specs/codec.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

namespace rockpool::specs {

const schema* schema::property(std::string_view name) const {
  for (const auto& [key, s] : properties)
    if (key == name) return s.get();
  return nullptr;
}

namespace {

std::optional<double> number_of(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

std::shared_ptr<schema> parse_schema(const json::value& v, const std::string& where) {
  if (!v.is_object()) throw std::runtime_error(where + ": schema must be an object");
  const auto& o = v.get_object();
  auto s = std::make_shared<schema>();
  s->type = string_at(v, "type");
  s->description = string_at(v, "description");
  if (const auto* p = o.if_contains("properties"); p && p->is_object())
    for (const auto& kv : p->get_object())
      s->properties.emplace_back(std::string(kv.key()),
                                 parse_schema(kv.value(), where + "." + std::string(kv.key())));
  if (const auto* r = o.if_contains("required"); r && r->is_array())
    for (const auto& e : r->get_array())
      if (e.is_string()) s->required.emplace_back(e.get_string());
  if (const auto* i = o.if_contains("items")) s->items = parse_schema(*i, where + "[]");
  if (const auto* a = o.if_contains("additionalProperties"); a && a->is_object())
    s->additional_properties = parse_schema(*a, where + ".*");
  if (const auto* x = o.if_contains("x-kubernetes-preserve-unknown-fields"); x && x->is_bool())
    s->preserve_unknown_fields = x->get_bool();
  if (const auto* e = o.if_contains("enum"); e && e->is_array())
    s->enum_values.assign(e->get_array().begin(), e->get_array().end());
  if (const auto* m = o.if_contains("minimum")) s->minimum = number_of(*m);
  if (const auto* m = o.if_contains("maximum")) s->maximum = number_of(*m);
  if (auto n = int_at(v, "minLength")) s->min_length = static_cast<std::size_t>(*n);
  if (auto n = int_at(v, "maxLength")) s->max_length = static_cast<std::size_t>(*n);
  if (auto n = int_at(v, "maxItems")) s->max_items = static_cast<std::size_t>(*n);
  if (auto n = int_at(v, "maxProperties")) s->max_properties = static_cast<std::size_t>(*n);
  s->pattern = string_at(v, "pattern");
  if (!s->pattern.empty()) {
    auto compiled = pattern::compile(s->pattern);
    if (!compiled.ok()) throw std::runtime_error("embedded CRD: " + compiled.err().message);
    s->pattern_re.emplace(std::move(*compiled));
  }
  if (const auto* d = o.if_contains("default")) s->default_value = *d;
  return s;
}

std::vector<printer_column> parse_columns(const json::value& version) {
  std::vector<printer_column> out;
  const auto* cols = find_path(version, "additionalPrinterColumns");
  if (cols == nullptr || !cols->is_array()) return out;
  for (const auto& c : cols->get_array())
    out.push_back({string_at(c, "name"), string_at(c, "type"), string_at(c, "jsonPath"),
                   string_at(c, "description"),
                   static_cast<int>(int_at(c, "priority").value_or(0))});
  return out;
}

std::string annotation_of(const json::value& doc, const std::string& key) {
  const auto* ann = find_path(doc, "metadata.annotations");
  const auto* v = ann && ann->is_object() ? ann->get_object().if_contains(key) : nullptr;
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A CRD file's documents, from the JSON the build made of its YAML.
std::vector<json::value> crd_documents(const crds::embedded_file& file) {
  for (const auto& j : detail::embedded_crd_json()) {
    if (j.name != file.name || j.yaml_bytes != file.yaml.size()) continue;
    auto parsed = parse_json(j.json);
    if (!parsed.ok() || !parsed->is_array()) break;
    auto& docs = parsed->get_array();
    return std::vector<json::value>(std::make_move_iterator(docs.begin()),
                                    std::make_move_iterator(docs.end()));
  }
  // The build makes the JSON of every CRD file (crd_json_gen), so this is a
  // build that embedded one without the other.
  throw std::runtime_error("embedded CRD crds/" + std::string(file.name) +
                           " has no JSON form made of it");
}

std::vector<kind_info> load_kinds() {
  std::vector<kind_info> out;
  for (const auto& file : crds::embedded_files()) {
    for (const auto& doc : crd_documents(file)) {
      kind_info k;
      k.kind = string_at(doc, "spec.names.kind");
      k.plural = string_at(doc, "spec.names.plural");
      k.singular = string_at(doc, "spec.names.singular");
      if (const auto* sn = find_path(doc, "spec.names.shortNames"); sn && sn->is_array())
        for (const auto& e : sn->get_array())
          if (e.is_string()) k.short_names.emplace_back(e.get_string());
      if (const auto* c = find_path(doc, "spec.names.categories"); c && c->is_array())
        for (const auto& e : c->get_array())
          if (e.is_string()) k.categories.emplace_back(e.get_string());
      k.crd = doc;
      const auto* versions = find_path(doc, "spec.versions");
      if (versions == nullptr || !versions->is_array() || versions->get_array().empty())
        throw std::runtime_error(std::string(file.name) + ": no versions");
      const auto* root = find_path(versions->get_array()[0], "schema.openAPIV3Schema");
      if (root == nullptr) throw std::runtime_error(std::string(file.name) + ": no schema");
      k.root = parse_schema(*root, k.kind);
      k.root_json = *root;
      k.crd_yaml = std::string(file.yaml);
      k.columns = parse_columns(versions->get_array()[0]);
      if (auto order = annotation_of(doc, "rockpool.dev/apply-order"); !order.empty())
        k.apply_order = std::stoi(order);
      out.push_back(std::move(k));
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string format_number(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return boost::json::serialize(boost::json::value(d));
}

std::string range_text(const schema& s, const char* noun) {
  std::string out = std::string("must be ") + noun;
  if (s.minimum && s.maximum)
    out += " between " + format_number(*s.minimum) + " and " + format_number(*s.maximum);
  else if (s.minimum)
    out += " of at least " + format_number(*s.minimum);
  else if (s.maximum)
    out += " of at most " + format_number(*s.maximum);
  return out;
}

std::string pattern_text(const schema& s) {
  if (s.pattern == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    return "must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
           "with a letter or digit)";
  if (s.pattern.find("(Mi|Gi") != std::string::npos) return "must be a size such as 512Mi or 2Gi";
  return "must match the pattern " + s.pattern;
}

const char* type_noun(const std::string& type) {
  if (type == "object") return "an object";
  if (type == "array") return "a list";
  if (type == "string") return "a string";
  if (type == "boolean") return "true or false";
  if (type == "number") return "a number";
  if (type == "integer") return "an integer";
  return "a value";
}

bool type_matches(const std::string& type, const json::value& v) {
  if (type.empty()) return true;
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_bool();
  if (type == "integer") return v.is_int64() || v.is_uint64();
  if (type == "number") return v.is_number();
  return false;
}

std::string join_path(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

}  // namespace

const std::vector<kind_info>& kinds() {
  static const std::vector<kind_info> all = load_kinds();
  return all;
}

const kind_info* find_kind(std::string_view any_name) {
  auto n = lower(any_name);
  for (const auto& k : kinds()) {
    if (n == lower(k.kind) || n == k.plural || n == k.singular) return &k;
    for (const auto& s : k.short_names)
      if (n == s) return &k;
  }
  return nullptr;
}

void apply_defaults(const schema& s, json::value& v) {
  if (auto* o = v.if_object()) {
    for (const auto& [key, child] : s.properties) {
      if (!o->contains(key) && child->default_value) (*o)[key] = *child->default_value;
      if (auto* cv = o->if_contains(key)) apply_defaults(*child, *cv);
    }
    if (s.additional_properties)
      for (auto& kv : *o)
        if (!s.property(kv.key())) apply_defaults(*s.additional_properties, kv.value());
  } else if (auto* a = v.if_array(); a && s.items) {
    for (auto& e : *a) apply_defaults(*s.items, e);
  }
}

// The schema of field key of an object of schema s: its property, else the
// schema of additional properties, else none.
const schema* field_schema(const schema& s, std::string_view key) {
  if (const auto* child = s.property(key)) return child;
  return s.additional_properties.get();
}

// Whether a field s does not declare is unknown (not kept, not free-form).
bool refuses_unknown_fields(const schema& s) {
  return !s.preserve_unknown_fields && !(s.type.empty() && s.properties.empty());
}

void validate_schema(const schema& s, const json::value& v, const std::string& path,
                     std::vector<field_error>& out) {
  if (!type_matches(s.type, v)) {
    std::string msg = (s.type == "integer" || s.type == "number")
                          ? range_text(s, type_noun(s.type))
                          : std::string("must be ") + type_noun(s.type);
    out.push_back({path, msg + ", got " + describe_value(v)});
    return;
  }
  if (auto n = number_of(v)) {
    if ((s.minimum && *n < *s.minimum) || (s.maximum && *n > *s.maximum))
      out.push_back({path, range_text(s, type_noun(s.type.empty() ? "number" : s.type)) + ", got " +
                               describe_value(v)});
  }
  if (!s.enum_values.empty() &&
      std::find(s.enum_values.begin(), s.enum_values.end(), v) == s.enum_values.end()) {
    std::string allowed;
    for (const auto& e : s.enum_values) {
      if (!allowed.empty()) allowed += ", ";
      allowed += e.is_string() ? std::string(e.get_string()) : boost::json::serialize(e);
    }
    out.push_back({path, "must be one of " + allowed + ", got " + describe_value(v)});
  }
  if (const auto* str = v.if_string()) {
    if (s.min_length && str->size() < *s.min_length)
      out.push_back(
          {path, s.min_length == 1u
                     ? "must not be empty"
                     : "must be at least " + std::to_string(*s.min_length) + " characters long"});
    bool too_long = s.max_length && str->size() > *s.max_length;
    if (too_long)
      out.push_back(
          {path, "must be at most " + std::to_string(*s.max_length) + " characters long"});
    // Length first: a value already too long is not matched as well.
    if (!too_long && s.pattern_re && !s.pattern_re->search(*str))
      out.push_back({path, pattern_text(s) + ", got " + describe_value(v)});
  }
  if (const auto* arr = v.if_array()) {
    if (s.max_items && arr->size() > *s.max_items)
      out.push_back({path, "must have at most " + std::to_string(*s.max_items) + " items"});
    if (s.items)
      for (std::size_t i = 0; i < arr->size(); ++i)
        validate_schema(*s.items, (*arr)[i], path + "[" + std::to_string(i) + "]", out);
  }
  if (const auto* obj = v.if_object()) {
    for (const auto& req : s.required)
      if (!obj->contains(req)) out.push_back({join_path(path, req), "required field is missing"});
    if (s.max_properties && obj->size() > *s.max_properties)
      out.push_back({path, "must have at most " + std::to_string(*s.max_properties) + " entries"});
    for (const auto& kv : *obj) {
      auto child_path = join_path(path, kv.key());
      if (const auto* child = field_schema(s, kv.key()))
        validate_schema(*child, kv.value(), child_path, out);
      else if (refuses_unknown_fields(s))
        out.push_back({child_path, "unknown field"});
    }
  }
}

void drop_unknown_fields(const schema& s, json::value& v, const std::string& path,
                         std::vector<std::string>& removed) {
  if (auto* arr = v.if_array(); arr && s.items)
    for (std::size_t i = 0; i < arr->size(); ++i)
      drop_unknown_fields(*s.items, (*arr)[i], path + "[" + std::to_string(i) + "]", removed);
  auto* obj = v.if_object();
  if (obj == nullptr) return;
  std::vector<std::string> unknown;
  for (auto& kv : *obj) {
    auto child_path = join_path(path, kv.key());
    if (const auto* child = field_schema(s, kv.key()))
      drop_unknown_fields(*child, kv.value(), child_path, removed);
    else if (refuses_unknown_fields(s))
      unknown.emplace_back(kv.key());
  }
  for (const auto& key : unknown) {
    obj->erase(key);
    removed.push_back(join_path(path, key));
  }
}

namespace {

std::string type_label(const schema& s) {
  if (s.type == "array") return "[]" + (s.items ? type_label(*s.items) : std::string("Object"));
  if (s.type == "object") return "Object";
  if (s.type.empty()) return "Object";
  return s.type;
}

void wrap(std::string& out, const std::string& text, const std::string& indent) {
  std::size_t col = 0;
  out += indent;
  std::size_t i = 0;
  while (i < text.size()) {
    auto sp = text.find(' ', i);
    auto word = text.substr(i, sp == std::string::npos ? std::string::npos : sp - i);
    if (col > 0 && col + word.size() > 72) {
      out += "\n" + indent;
      col = 0;
    } else if (col > 0) {
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    if (sp == std::string::npos) break;
    i = sp + 1;
  }
  out += "\n";
}

void list_fields(std::string& out, const schema& s, int depth, bool recursive) {
  const schema* obj = &s;
  if (s.type == "array" && s.items) obj = s.items.get();
  std::string pad(static_cast<std::size_t>(3 + depth * 2), ' ');
  for (const auto& [name, child] : obj->properties) {
    bool required =
        std::find(obj->required.begin(), obj->required.end(), name) != obj->required.end();
    out += pad + name + "\t<" + type_label(*child) + ">" + (required ? " -required-" : "") + "\n";
    if (recursive) {
      list_fields(out, *child, depth + 1, true);
    } else {
      std::string desc = child->description;
      if (child->default_value)
        desc += " Default: " + boost::json::serialize(*child->default_value) + ".";
      if (!desc.empty()) wrap(out, desc, pad + "  ");
      out += "\n";
    }
  }
}

}  // namespace

std::optional<std::string> explain(std::string_view kind_and_path, bool recursive) {
  auto dot = kind_and_path.find('.');
  const auto* k = find_kind(kind_and_path.substr(0, dot));
  if (k == nullptr) return std::nullopt;
  const schema* s = k->root.get();
  std::string field;
  if (dot != std::string_view::npos) {
    field = std::string(kind_and_path.substr(dot + 1));
    std::string_view rest = field;
    while (!rest.empty()) {
      auto d = rest.find('.');
      auto key = rest.substr(0, d);
      const schema* container = (s->type == "array" && s->items) ? s->items.get() : s;
      s = container->property(key);
      if (s == nullptr) return std::nullopt;
      rest = d == std::string_view::npos ? std::string_view{} : rest.substr(d + 1);
    }
  }
  std::string out = "KIND:     " + k->kind + "\nVERSION:  " + api_version + "\n\n";
  if (!field.empty()) {
    auto leaf = field.substr(field.rfind('.') == std::string::npos ? 0 : field.rfind('.') + 1);
    out += "FIELD:    " + leaf + " <" + type_label(*s) + ">\n\n";
  }
  out += "DESCRIPTION:\n";
  std::string desc = s->description.empty() ? "<empty>" : s->description;
  if (!s->enum_values.empty()) {
    desc += " One of:";
    for (const auto& e : s->enum_values) desc += " " + boost::json::serialize(e);
    desc += ".";
  }
  if (s->minimum || s->maximum)
    desc += " Range: " + (s->minimum ? format_number(*s->minimum) : std::string("-inf")) + " to " +
            (s->maximum ? format_number(*s->maximum) : std::string("inf")) + ".";
  if (s->default_value) desc += " Default: " + boost::json::serialize(*s->default_value) + ".";
  wrap(out, desc, "     ");
  const schema* obj = (s->type == "array" && s->items) ? s->items.get() : s;
  if (field.empty()) {
    out += "\nFIELDS:\n   apiVersion\t<string>\n     " + std::string(api_version) +
           "\n\n   kind\t<string>\n     " + k->kind +
           "\n\n   metadata\t<Object>\n     Standard object metadata: name, labels, "
           "annotations, finalizers, ownerReferences; the rest is set by the server.\n\n";
    list_fields(out, *obj, 0, recursive);
  } else if (!obj->properties.empty()) {
    out += "\nFIELDS:\n";
    list_fields(out, *obj, 0, recursive);
  }
  return out;
}

}  // namespace rockpool::specs

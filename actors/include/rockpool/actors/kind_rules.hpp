#pragma once

// The kinds' semantic rules, for admission (the store) and clients (rpctl).
// Library rockpool_kind_rules: CAF-free, store-free, depends on specs only.

#include "rockpool/specs/validation.hpp"

namespace rockpool::actors {

/// Every kind's rules beyond its schema, by kind (actors/reconcilers/KIND/rules.cpp).
const specs::semantic_rules& kind_rules();

}  // namespace rockpool::actors

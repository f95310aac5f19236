#pragma once
// Which parameters of a kernel are pointers, read from its demangled signature. The injection
// library compares the pointer arguments of consecutive launches (dataflow); for launches made
// through the CUDA runtime it often has no other way to know the parameters: a runtime linked
// statically into the program offers no cudaGetFuncBySymbol to reach the driver's layout.

#include <cstdint>
#include <string_view>
#include <vector>

namespace brrr {

struct PointerParameter {
  uint32_t index = 0;
  // Points to const: the kernel reads through it and, by its type, does not write.
  bool read_only = false;
  bool operator==(const PointerParameter&) const = default;
};

// The pointer parameters of a demangled kernel signature such as
// "void scale<float>(float const*, float*, int)". Empty when the text holds no parameter list
// (an extern "C" kernel's unmangled name) or no pointer. Parameters passed by value that hold
// pointers (structs, std::array) are not pointers here.
std::vector<PointerParameter> pointer_parameters(std::string_view demangled);

} // namespace brrr

# bootseal::fmtlib: fmt as a static library built from its installed headers
# (cmake/fmt/format.cc), linked by every binary: bootseal, the tests, and the static
# bootseal-setup-root, which therefore links the ordinary module libraries.
#   bootseal_fmtlib(INCLUDE_DIR DEFINITIONS...)
function(bootseal_fmtlib include_dir)
  add_library(bootseal_fmtlib STATIC ${CMAKE_SOURCE_DIR}/cmake/fmt/format.cc)
  add_library(bootseal::fmtlib ALIAS bootseal_fmtlib)
  target_include_directories(bootseal_fmtlib SYSTEM PUBLIC ${include_dir})
  target_compile_definitions(bootseal_fmtlib PUBLIC ${ARGN})
  # fmt's own code is not held to the project's warning flags.
  target_compile_options(bootseal_fmtlib PRIVATE -w)
endfunction()

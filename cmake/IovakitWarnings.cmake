# Warning flags shared by every target of the project (not by consumers).
add_library(iovakit_warnings INTERFACE)
target_compile_options(iovakit_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  -Wformat=2 -Wmissing-declarations
  $<$<COMPILE_LANG_AND_ID:CXX,GNU>:-Wzero-as-null-pointer-constant>)
if(IOVAKIT_WERROR)
  target_compile_options(iovakit_warnings INTERFACE -Werror)
endif()

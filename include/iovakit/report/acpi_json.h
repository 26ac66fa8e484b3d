// iovakit/report/acpi_json.h: JSON forms of the acpi layer's records.
//
// Design
// ------
// One function per record type, so that the CLI only assembles documents and
// library users get the same forms. Conventions of docs/json.md: addresses
// and sizes are hex strings (json_address / json_size), ranges are inclusive
// {"start", "end", "size"}; byte offsets, counts, type codes and flag bytes
// are JSON numbers (all below 2^32), and every flag word is followed by its
// decoded bits. The schema is "iovakit.acpi/1", documented in docs/json.md.
#pragma once

#include "iovakit/acpi/dmar.h"
#include "iovakit/acpi/iort.h"
#include "iovakit/acpi/ivrs.h"
#include "iovakit/acpi/kernel_log.h"
#include "iovakit/acpi/table_header.h"
#include "iovakit/acpi/table_input.h"
#include "iovakit/report/iova_json.h"

namespace iovakit::report {

Json to_json(const acpi::Finding& finding);
Json to_json(const acpi::TableHeader& h);
Json to_json(const acpi::DeviceScope& s);
Json to_json(const acpi::Dmar& d);
Json to_json(const acpi::Ivrs& v);
Json to_json(const acpi::Iort& t);
// {"signature", "header", "findings", "dmar"|"ivrs"|"iort"}
Json to_json(const acpi::DecodedTable& table);
Json to_json(const acpi::LogRecord& r);
Json to_json(const acpi::KernelLog& log);

}  // namespace iovakit::report

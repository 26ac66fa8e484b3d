// iovakit/report/host_json.h: JSON forms of the host model (schema
// iovakit.host/1, docs/json.md).
//
// Design
// ------
// One function per host type, composed by host_document() into the document
// `iovakit host --json` prints. Conventions as everywhere (docs/json.md):
// addresses and register values are hex strings, small integers are numbers,
// absent values are null rather than missing keys, so consumers see the same
// keys on every host. Paths are root-relative as the host layer keeps them.
//
// Thread safety: pure functions.
#pragma once

#include "iovakit/host/firmware_reservations.h"
#include "iovakit/host/host.h"
#include "iovakit/host/iommu_status.h"
#include "iovakit/report/iova_json.h"

namespace iovakit::report {

Json to_json(const host::KernelInfo& kernel);
Json to_json(const host::IommuUnit& unit);
Json to_json(const host::PciDevice& device, const host::Host& host);
Json to_json(const host::IommuGroup& group);
Json to_json(const host::FirmwareTables& firmware);
Json to_json(const host::FirmwareReservation& reservation, const host::Host& host);
Json to_json(const host::IommuStatus& status);
Json to_json(const Error& error);

// The whole `iovakit host --json` document.
Json host_document(const host::Host& host, const host::IommuStatus& status, const host::ReservationMap& reservations);

}  // namespace iovakit::report

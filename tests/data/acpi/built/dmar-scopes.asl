/*
 * iovakit test table (written for this project, compiled by iasl at test
 * time): DMAR cases the real corpus lacks.
 *   - RMRR #0 with several endpoint scopes (three USB controllers);
 *   - RMRR #1 with a bridge scope three levels deep (1c.0 / 00.0 / 03.0)
 *     and an endpoint four levels deep (1c.0 / 00.0 / 03.0 / 00.1);
 *   - RMRR #2 overlapping RMRR #0;
 *   - RMRR #3 failing Linux's rmrr_sanity_check (base and end+1 unaligned);
 *   - an ATSR with a two-level bridge scope, an RHSA.
 * Lengths are written out (Debian's iasl 20200925 loops forever on a
 * subtable Length of 0); iasl computes the checksum.
 */
[0004]                          Signature : "DMAR"    [DMA Remapping table]
[0004]                       Table Length : 00000110
[0001]                           Revision : 01
[0001]                           Checksum : 00
[0006]                             Oem ID : "IOVAKT"
[0008]                       Oem Table ID : "SCOPES  "
[0004]                       Oem Revision : 00000001
[0004]                    Asl Compiler ID : "INTL"
[0004]              Asl Compiler Revision : 20200925

[0001]                 Host Address Width : 26
[0001]                              Flags : 05
[0010]                           Reserved : 00 00 00 00 00 00 00 00 00 00

[0002]                      Subtable Type : 0000 [Hardware Unit Definition]
[0002]                             Length : 0018

[0001]                              Flags : 01
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0000
[0008]              Register Base Address : 00000000FED91000

[0001]                  Device Scope Type : 03 [IOAPIC Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 02
[0001]                     PCI Bus Number : F0

[0002]                           PCI Path : 1F,00


[0002]                      Subtable Type : 0001 [Reserved Memory Region]
[0002]                             Length : 0030

[0002]                           Reserved : 0000
[0002]                 PCI Segment Number : 0000
[0008]                       Base Address : 000000007B800000
[0008]                End Address (limit) : 000000007B81FFFF

[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 14,00


[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 1A,00


[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 1D,00


[0002]                      Subtable Type : 0001 [Reserved Memory Region]
[0002]                             Length : 0032

[0002]                           Reserved : 0000
[0002]                 PCI Segment Number : 0000
[0008]                       Base Address : 00000000C0000000
[0008]                End Address (limit) : 00000000C03FFFFF

[0001]                  Device Scope Type : 02 [PCI Bridge Device]
[0001]                       Entry Length : 0C
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 1C,00

[0002]                           PCI Path : 00,00

[0002]                           PCI Path : 03,00


[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 0E
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 1C,00

[0002]                           PCI Path : 00,00

[0002]                           PCI Path : 03,00

[0002]                           PCI Path : 00,01


[0002]                      Subtable Type : 0001 [Reserved Memory Region]
[0002]                             Length : 0020

[0002]                           Reserved : 0000
[0002]                 PCI Segment Number : 0000
[0008]                       Base Address : 000000007B810000
[0008]                End Address (limit) : 000000007B83FFFF

[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 02,00


[0002]                      Subtable Type : 0001 [Reserved Memory Region]
[0002]                             Length : 0020

[0002]                           Reserved : 0000
[0002]                 PCI Segment Number : 0000
[0008]                       Base Address : 00000000BF7EC800
[0008]                End Address (limit) : 00000000BF7FFFFE

[0001]                  Device Scope Type : 01 [PCI Endpoint Device]
[0001]                       Entry Length : 08
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 1F,03


[0002]                      Subtable Type : 0002 [Root Port ATS Capability]
[0002]                             Length : 0012

[0001]                              Flags : 00
[0001]                           Reserved : 00
[0002]                 PCI Segment Number : 0000

[0001]                  Device Scope Type : 02 [PCI Bridge Device]
[0001]                       Entry Length : 0A
[0002]                           Reserved : 0000
[0001]                     Enumeration ID : 00
[0001]                     PCI Bus Number : 00

[0002]                           PCI Path : 01,00

[0002]                           PCI Path : 00,00


[0002]                      Subtable Type : 0003 [Remapping Hardware Static Affinity]
[0002]                             Length : 0014

[0004]                           Reserved : 00000000
[0008]                       Base Address : 00000000FED91000
[0004]                   Proximity Domain : 00000001

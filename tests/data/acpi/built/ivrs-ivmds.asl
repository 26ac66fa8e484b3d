/*
 * iovakit test table (written for this project, compiled by iasl at test
 * time): IVRS cases the real corpus lacks.
 *   - an IVHD 0x10 with select, range, alias select, alias range, extended
 *     select and special IOAPIC/HPET device entries;
 *   - one IVMD of each type: 0x20 (all devices, unity r/w), 0x21 (one
 *     device, exclusion range), 0x22 (device range, unity r/w), and a 0x22
 *     of length 1 (the MECHREVO shape: not page aligned).
 * Lengths are written out (Debian's iasl 20200925 loops forever on a
 * subtable Length of 0); iasl computes the checksum.
 */
[0004]                          Signature : "IVRS"    [I/O Virtualization Reporting Structure]
[0004]                       Table Length : 00000100
[0001]                           Revision : 01
[0001]                           Checksum : 00
[0006]                             Oem ID : "IOVAKT"
[0008]                       Oem Table ID : "IVMDS   "
[0004]                       Oem Revision : 00000001
[0004]                    Asl Compiler ID : "INTL"
[0004]              Asl Compiler Revision : 20200925

[0004]                Virtualization Info : 00203041
[0008]                           Reserved : 0000000000000000

[0001]                      Subtable Type : 10 [Hardware Definition Block]
[0001]                              Flags : B0
[0002]                             Length : 0050
[0002]                           DeviceId : 0002

[0002]                  Capability Offset : 0040
[0008]                       Base Address : 00000000FD200000
[0002]                  PCI Segment Group : 0000
[0002]                Virtualization Info : 0000
[0004]                  Feature Reporting : 80048F6E

[0001]                         Entry Type : 03
[0002]                          Device ID : 0008
[0001]                       Data Setting : 00

[0001]                         Entry Type : 04
[0002]                          Device ID : 00FE
[0001]                       Data Setting : 00

[0001]                         Entry Type : 02
[0002]                          Device ID : 0010
[0001]                       Data Setting : 00

[0001]                         Entry Type : 42
[0002]                          Device ID : 0100
[0001]                       Data Setting : 00
[0001]                           Reserved : 00
[0002]              Source Used Device ID : 00A4
[0001]                           Reserved : 00

[0001]                         Entry Type : 43
[0002]                          Device ID : 0200
[0001]                       Data Setting : 00
[0001]                           Reserved : 00
[0002]              Source Used Device ID : 00A5
[0001]                           Reserved : 00

[0001]                         Entry Type : 04
[0002]                          Device ID : 02FF
[0001]                       Data Setting : 00

[0001]                         Entry Type : 46
[0002]                          Device ID : 0300
[0001]                       Data Setting : 00
[0004]                      Extended Data : 00000001

[0001]                         Entry Type : 48
[0002]                          Device ID : 0000
[0001]                       Data Setting : D7
[0001]                             Handle : 21
[0002]              Source Used Device ID : 00A0
[0001]                            Variety : 01

[0001]                         Entry Type : 48
[0002]                          Device ID : 0000
[0001]                       Data Setting : 00
[0001]                             Handle : 00
[0002]              Source Used Device ID : 00A0
[0001]                            Variety : 02

[0001]                      Subtable Type : 20 [Memory Definition Block]
[0001]                              Flags : 07
[0002]                             Length : 0020
[0002]                           DeviceId : 0000

[0002]                     Auxiliary Data : 0000
[0008]                           Reserved : 0000000000000000
[0008]                      Start Address : 00000000000A0000
[0008]                      Memory Length : 0000000000020000

[0001]                      Subtable Type : 21 [Memory Definition Block]
[0001]                              Flags : 08
[0002]                             Length : 0020
[0002]                           DeviceId : 0300

[0002]                     Auxiliary Data : 0000
[0008]                           Reserved : 0000000000000000
[0008]                      Start Address : 00000000CCD42000
[0008]                      Memory Length : 0000000000026000

[0001]                      Subtable Type : 22 [Memory Definition Block]
[0001]                              Flags : 07
[0002]                             Length : 0020
[0002]                           DeviceId : 0100

[0002]                     Auxiliary Data : 01FF
[0008]                           Reserved : 0000000000000000
[0008]                      Start Address : 00000000D0000000
[0008]                      Memory Length : 0000000000100000

[0001]                      Subtable Type : 22 [Memory Definition Block]
[0001]                              Flags : 08
[0002]                             Length : 0020
[0002]                           DeviceId : 0000

[0002]                     Auxiliary Data : 0FFF
[0008]                           Reserved : 0000000000000000
[0008]                      Start Address : 000000009618E000
[0008]                      Memory Length : 0000000000000001

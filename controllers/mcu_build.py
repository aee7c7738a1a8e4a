"""Build an exported C header into a bare-metal STM32F405 image (Cortex-M4, Thumb-2, ``-Os``).

The image has three parts, each its own object file so the map file can tell them apart:

- ``controller.o``: the exported header (:func:`spikefly.controllers.export_c.export_c`) and what a
  flight firmware would hold beside it: the state, a one-substep input buffer and the output
  buffers, and two functions, ``controller_reset`` and ``controller_substep`` (one LIF substep).
  Its share of the linked image is the controller's flash and RAM (:class:`ImageSize`).
- ``harness.o``: the test bench, written for spikefly. It reads the recorded inputs of one control
  step at a time from the host (ARM semihosting, ``SYS_READ``), runs the K substeps, reads the
  instruction counter around every substep, and writes one record per control step back to the
  host (:data:`RECORD_FIELDS`).
- ``startup.o``: the vector table (initial stack pointer, reset and fault handlers) and the reset
  code that copies ``.data`` and zeroes ``.bss``.

Compiled with ``-mfloat-abi=soft`` and linked without start files against newlib-nano (for
``memset``); the link fails (:class:`McuBuildError`) when the image needs floating point or
``malloc``. Instructions are counted by TIM2: QEMU's STM32F405 timers tick at 1 GHz of virtual
time, and under ``-icount shift=0`` every instruction advances virtual time by 1 ns, so the
counter is an exact instruction count (:mod:`spikefly.controllers.mcu_run`).

Toolchain: Debian's ``gcc-arm-none-eabi`` 12.2 and ``libnewlib-arm-none-eabi``
(:data:`INSTALL_LINE`); :func:`find_tools` names the missing ones.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from spikefly.controllers.export_c import CExport
from spikefly.core import SpikeflyError

INSTALL_LINE = "sudo apt-get update && sudo apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
"""The Debian packages of the cross compiler, its C library and the emulator."""
TOOLS = {"arm-none-eabi-gcc": "gcc-arm-none-eabi", "arm-none-eabi-nm": "binutils-arm-none-eabi",
         "qemu-system-arm": "qemu-system-arm"}
"""Program -> Debian package it comes from."""
CFLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft", "-Os", "-std=c99", "-Wall", "-Wextra", "-Werror",
          "-ffunction-sections", "-fdata-sections")
"""Cortex-M4, Thumb-2, optimised for size, no floating-point unit; every function and table in its own section."""
FORBIDDEN_SYMBOLS = re.compile(r"^(malloc|calloc|realloc|free|_malloc_r|__aeabi_[fd]\w*|__(add|sub|mul|div)[sd]f3)$")
"""Symbols that mean heap or floating point in the image."""

RECORD_FIELDS = ("instructions", "membrane", "out_spikes", "spiked")
"""One record per control step: uint32 instructions of the K substeps, int32 [K, n_out] output
membranes (Q.F), uint8 [K, n_out] output spikes, uint8 [K, N] spikes of every neuron; C struct
layout (padded to 4 bytes)."""

_LINKER_SCRIPT = """/* STM32F405 (QEMU netduinoplus2): 1 MB flash, 128 KB SRAM (the 64 KB CCM is not used). */
MEMORY
{
    FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 1024K
    RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 128K
}
ENTRY(reset_handler)
stack_top = ORIGIN(RAM) + LENGTH(RAM);
SECTIONS
{
    .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) . = ALIGN(4); } > FLASH
    .data : { data_start = .; *(.data*) . = ALIGN(4); data_end = .; } > RAM AT > FLASH
    data_load = LOADADDR(.data);
    .bss (NOLOAD) : { bss_start = .; *(.bss*) *(COMMON) . = ALIGN(4); bss_end = .; } > RAM
}
"""

_STARTUP = """/* Vector table and reset code of the STM32F405 test image (written for spikefly). */
#include <stdint.h>

extern uint32_t stack_top, data_start, data_end, data_load, bss_start, bss_end;
int main(void);
void reset_handler(void);
void fault_handler(void);
void semihosting_exit(uint32_t code);

__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))&stack_top, reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler,
};

void reset_handler(void)
{
    uint32_t *to = &data_start;
    const uint32_t *from = &data_load;
    while (to < &data_end) *to++ = *from++;
    for (to = &bss_start; to < &bss_end; ++to) *to = 0;
    semihosting_exit((uint32_t)main());
}

void fault_handler(void)
{
    semihosting_exit(3u);
}
"""

HARNESS_IO = """/* Semihosting file I/O and the TIM2 instruction counter of the test benches (written for spikefly). */
#include <stdint.h>
#include <string.h>

#define SYS_OPEN 0x01
#define SYS_READ 0x06
#define SYS_WRITE 0x05
#define SYS_EXIT_EXTENDED 0x20
#define APPLICATION_EXIT 0x20026u
#define RCC_APB1ENR (*(volatile uint32_t *)0x40023840u)
#define TIM2_CR1 (*(volatile uint32_t *)0x40000000u)
#define TIM2_CNT (*(volatile uint32_t *)0x40000024u)
#define TIM2_ARR (*(volatile uint32_t *)0x4000002Cu)
#define TIMER_START() do { RCC_APB1ENR |= 1u; TIM2_ARR = 0xFFFFFFFFu; TIM2_CR1 = 1u; } while (0)

static uint32_t semihosting(uint32_t operation, const void *argument)
{
    register uint32_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihosting_exit(uint32_t code)
{
    const uint32_t block[2] = {APPLICATION_EXIT, code};
    semihosting(SYS_EXIT_EXTENDED, block);
    for (;;) {}
}

static uint32_t open_file(const char *name, uint32_t mode)
{
    const uint32_t block[3] = {(uint32_t)name, mode, (uint32_t)strlen(name)};
    return semihosting(SYS_OPEN, block);
}

/* Bytes NOT transferred (0: all of them). */
static uint32_t transfer(uint32_t operation, uint32_t handle, const void *buffer, uint32_t length)
{
    const uint32_t block[3] = {handle, (uint32_t)buffer, length};
    return semihosting(operation, block);
}
"""
"""C helpers every harness starts with: ``semihosting_exit``, ``open_file``, ``transfer`` (bytes not
transferred), the TIM2 registers and ``TIMER_START()`` (a free-running 32-bit instruction counter)."""

_HARNESS = HARNESS_IO + """
/* Test bench: recorded inputs in, one record per control step out. */
#include "controller.h"
#define INPUT_WIDTH (CONTROLLER_N_INPUTS > 0 ? CONTROLLER_N_INPUTS : 1)

typedef struct {
    uint32_t instructions;
    int32_t membrane[CONTROLLER_SUBSTEPS][CONTROLLER_N_OUTPUTS];
    uint8_t out_spikes[CONTROLLER_SUBSTEPS][CONTROLLER_N_OUTPUTS];
    uint8_t spiked[CONTROLLER_SUBSTEPS][CONTROLLER_N_NEURONS];
} record_t;

static int32_t step_inputs[CONTROLLER_SUBSTEPS][INPUT_WIDTH];
static record_t record;

int main(void)
{
    const uint32_t inputs = open_file("inputs.bin", 1u);   /* "rb" */
    const uint32_t records = open_file("records.bin", 5u);  /* "wb" */
    uint32_t read_cost, before, after, missing;
    int k, j;
    if (inputs == 0xFFFFFFFFu || records == 0xFFFFFFFFu) return 4;
    TIMER_START();
    before = TIM2_CNT;
    after = TIM2_CNT;
    read_cost = after - before; /* what reading the counter adds to a measurement */
    controller_reset();
    for (;;) {
        missing = transfer(SYS_READ, inputs, step_inputs, sizeof step_inputs);
        if (missing == sizeof step_inputs) return 0;   /* end of the recording */
        if (missing != 0) return 5;                     /* a partial control step */
        record.instructions = 0;
        for (k = 0; k < CONTROLLER_SUBSTEPS; ++k) {
            memcpy(controller_inputs, step_inputs[k], sizeof step_inputs[k]);
            before = TIM2_CNT;
            controller_substep();
            after = TIM2_CNT;
            record.instructions += after - before - read_cost;
            for (j = 0; j < CONTROLLER_N_OUTPUTS; ++j) {
                record.membrane[k][j] = controller_membrane[j];
                record.out_spikes[k][j] = controller_spikes[j];
            }
            memcpy(record.spiked[k], controller_spiked(), CONTROLLER_N_NEURONS);
        }
        if (transfer(SYS_WRITE, records, &record, sizeof record) != 0) return 6;
    }
}
"""

EXIT_CODES = {3: "the processor faulted (HardFault)", 4: "the harness could not open inputs.bin or records.bin",
              5: "inputs.bin ends inside a control step", 6: "writing records.bin failed"}
"""Exit codes of the harness other than 0."""


class McuBuildError(SpikeflyError):
    """A missing toolchain, or an image that does not build or breaks the deployment rules."""


@dataclass(frozen=True)
class ImageSize:
    """Bytes of the linked image, from the linker's map file."""

    controller_code_bytes: int
    """``.text`` of controller.o: the substep and reset functions (the exported header's code)."""
    controller_const_bytes: int
    """``.rodata`` of controller.o: the exported tables."""
    controller_ram_bytes: int
    """``.data`` + ``.bss`` of controller.o: state, input buffer, output buffers."""
    image_flash_bytes: int
    """Whole image in flash: vectors, harness, library, controller (text + rodata + data)."""
    image_ram_bytes: int
    """Whole image's static RAM (data + bss; the stack is not counted)."""

    @property
    def controller_flash_bytes(self) -> int:
        """Code and tables of the controller (its ``.data``, if any, would add its load image)."""
        return self.controller_code_bytes + self.controller_const_bytes


@dataclass(frozen=True)
class McuImage:
    """A linked image and what it was built from."""

    elf: Path
    map_file: Path
    size: ImageSize
    substeps: int
    n_inputs: int
    n_neurons: int
    n_outputs: int


def find_tools() -> dict[str, str]:
    """Paths of the cross compiler, nm and QEMU; :class:`McuBuildError` naming the install line when any is missing."""
    found = {tool: shutil.which(tool) for tool in TOOLS}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        packages = sorted({TOOLS[tool] for tool in missing})
        raise McuBuildError(f"{', '.join(missing)} not found on PATH (Debian packages {', '.join(packages)}). "
                            f"Fix: {INSTALL_LINE}")
    return {tool: str(path) for tool, path in found.items()}


def _controller_source(export: CExport, n_inputs: int, n_neurons: int, n_outputs: int, substeps: int) -> tuple[str, str]:
    """(controller.h, controller.c): the firmware's view of the exported network."""
    name, macro = export.name, export.name.upper()
    header = f"""/* The controller as the firmware sees it (generated by spikefly). */
#include <stdint.h>
#define CONTROLLER_N_INPUTS {n_inputs}
#define CONTROLLER_N_NEURONS {n_neurons}
#define CONTROLLER_N_OUTPUTS {n_outputs}
#define CONTROLLER_SUBSTEPS {substeps}
extern int32_t controller_inputs[];
extern uint8_t controller_spikes[];
extern int32_t controller_membrane[];
void controller_reset(void);
void controller_substep(void);
const uint8_t *controller_spiked(void);
"""
    source = f"""/* The exported network and its buffers: the controller's share of the image. */
#include "{name}.h"
#include "controller.h"

static {name}_state controller_state;
int32_t controller_inputs[{macro}_N_INPUTS > 0 ? {macro}_N_INPUTS : 1];  /* one substep of inputs */
uint8_t controller_spikes[{macro}_N_OUTPUTS];
int32_t controller_membrane[{macro}_N_OUTPUTS];

void controller_reset(void) {{ {name}_reset(&controller_state); }}

void controller_substep(void) {{ {name}_step(&controller_state, controller_inputs, controller_spikes, controller_membrane); }}

const uint8_t *controller_spiked(void) {{ return controller_state.spiked; }}
"""
    return header, source


def build_image(export: CExport, substeps: int, n_inputs: int, n_neurons: int, n_outputs: int,
                directory: str | Path) -> McuImage:
    """Compile ``export`` with the harness for ``substeps`` (K) substeps per control step into ``directory``."""
    if not (isinstance(substeps, int) and substeps >= 1):
        raise ValueError(f"build_image: substeps must be an int >= 1, got {substeps!r}")
    header, controller = _controller_source(export, n_inputs, n_neurons, n_outputs, substeps)
    elf, map_file, size = link_image(export, {"controller.h": header, "controller.c": controller, "harness.c": _HARNESS},
                                     directory)
    return McuImage(elf, map_file, size, substeps, n_inputs, n_neurons, n_outputs)


def link_image(export: CExport, sources: dict[str, str], directory: str | Path) -> tuple[Path, Path, ImageSize]:
    """Compile ``sources`` (file name -> text; ``controller.c`` and ``harness.c`` among them) with the
    startup code beside ``export``'s header into ``directory/image.elf``: (elf, map file, the
    controller's share). The deployment rules (no floating point, no heap) are checked here."""
    tools = find_tools()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    export.write(directory / f"{export.name}.h")
    for file_name, text in {**sources, "startup.c": _STARTUP, "link.ld": _LINKER_SCRIPT}.items():
        (directory / file_name).write_text(text)
    elf, map_file = directory / "image.elf", directory / "image.map"
    gcc = tools["arm-none-eabi-gcc"]
    objects = []
    for unit in ("controller", "harness", "startup"):
        objects.append(str(directory / f"{unit}.o"))
        _run([gcc, *CFLAGS, "-c", str(directory / f"{unit}.c"), "-o", objects[-1]], f"compiling {unit}.c")
    _run([gcc, *CFLAGS, "-nostartfiles", "-specs=nano.specs", "-Wl,--gc-sections", f"-Wl,-Map={map_file}",
          "-T", str(directory / "link.ld"), *objects, "-o", str(elf)], "linking image.elf")
    symbols = _run([tools["arm-none-eabi-nm"], str(elf)], "listing the image's symbols").split()
    forbidden = sorted({symbol for symbol in symbols if FORBIDDEN_SYMBOLS.match(symbol)})
    if forbidden:
        raise McuBuildError(f"{elf}: the image uses {', '.join(forbidden)} (floating point or the heap), which the "
                            "deployment rules forbid. Fix: export an integer network (spikefly export --format c)")
    return elf, map_file, image_size(map_file.read_text(), "controller.o")


_INPUT_SECTION = re.compile(r"^ (\.\S+|COMMON)\s*\n?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)$", re.MULTILINE)
_OUTPUT_SECTION = re.compile(r"^(\.text|\.data|\.bss)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", re.MULTILINE)


def image_size(map_text: str, controller_object: str) -> ImageSize:
    """Sizes from a GNU ld map file: input sections of ``controller_object`` and the output sections.

    An input section line reads `` .text.name 0xADDRESS 0xSIZE path/file.o`` (the name may stand
    on a line of its own); discarded sections are listed before the memory map and not counted.
    """
    start = map_text.find("Linker script and memory map")
    if start < 0:
        raise McuBuildError("the linker map has no memory map section. Fix: link with -Wl,-Map=FILE (GNU ld)")
    memory_map = map_text[start:]
    code = const = ram = 0
    for section, _, size, path in _INPUT_SECTION.findall(memory_map):
        if Path(path).name != controller_object:
            continue
        size = int(size, 16)
        if section.startswith(".text"):
            code += size
        elif section.startswith(".rodata"):
            const += size
        elif section.startswith((".data", ".bss")) or section == "COMMON":
            ram += size
    outputs = {name: int(size, 16) for name, _, size in _OUTPUT_SECTION.findall(memory_map)}
    return ImageSize(code, const, ram, outputs.get(".text", 0) + outputs.get(".data", 0),
                     outputs.get(".data", 0) + outputs.get(".bss", 0))


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise McuBuildError(f"{what} failed:\n{done.stderr.strip()}\nFix: report this with the controller file; "
                            "the exported C must build warning-free for Cortex-M4")
    return done.stdout


__all__ = ["CFLAGS", "EXIT_CODES", "HARNESS_IO", "INSTALL_LINE", "ImageSize", "McuBuildError", "McuImage", "build_image",
           "find_tools", "image_size", "link_image"]

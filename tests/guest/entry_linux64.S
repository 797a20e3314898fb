/* The Linux 64-bit boot protocol entry (e_entry): the VMM enters in long mode with identity
   paging, interrupts off and rsi holding the zero page. Its page tables and GDT are kept, so
   this build proves them. The PVH build links this too, as vmlinux carries both entries; the
   banner says which one the VMM used.

   The BSS is not cleared: an ELF loader zeroes p_memsz beyond p_filesz, and fresh guest RAM is
   zero anyway. Clearing it would touch every page of it for nothing (it once took 50-70 ms
   on this project's nested-PVM /dev/kvm, mostly because that loop ran before the guest was
   set up; a first touch of a page in long mode costs about 5 us there). */
    .section .text.entry, "ax"
    .code64
    .globl _start
_start:
    cli
    cld
    mov     $stack_top, %esp
    mov     %rsi, %rdi
    mov     $1, %esi                    /* BOOT_LINUX64 */
    call    guest_main
1:  cli
    hlt
    jmp     1b

    .section .bss
    .balign 16
stack:
    .skip   16384
    .globl stack_top
stack_top:

    .section .note.GNU-stack, "", @progbits

/* The Linux 64-bit boot protocol entry (e_entry): the VMM enters in long mode with identity
   paging, interrupts off and rsi holding the zero page. Its page tables and GDT are kept, so
   this build proves them; only the BSS (our stack among it) is cleared first. The PVH build
   links this too, as vmlinux carries both entries; the banner says which one the VMM used. */
    .section .text.entry, "ax"
    .code64
    .globl _start
_start:
    cli
    cld
    mov     %rsi, %rbx                  /* zero page; rep stos leaves rbx alone */
    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb
    mov     $stack_top, %esp
    mov     %rbx, %rdi
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

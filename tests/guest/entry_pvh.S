/* The PVH entry, named by the XEN_ELFNOTE_PHYS32_ENTRY note below: 32-bit flat protected
   mode, paging off, ebx = struct hvm_start_info. Builds identity page tables for the first
   4 GiB (the top GiB, where the IOAPIC, LAPIC and virtio-mmio live, uncached), turns on long
   mode with its own GDT and calls guest_main like the 64-bit entry does.

   Page tables use 1 GiB pages where CPUID offers them (two table pages), else 2 MiB pages
   (six): on this project's nested-PVM /dev/kvm every guest page touched for the first time
   costs about 0.7 ms. For the same reason the BSS is not cleared (see entry_linux64.S). */
#define PTE_P   0x01
#define PTE_RW  0x02
#define PTE_PWT 0x08
#define PTE_PCD 0x10
#define PTE_PS  0x80

    .section .note.Xen, "a", @note
    .balign 4
    .long   4                           /* namesz: "Xen\0" */
    .long   8                           /* descsz */
    .long   18                          /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz  "Xen"
    .balign 4
    .quad   pvh_start32                 /* Linux's width; readers taking 32 bits get the same */
    .balign 4

    .section .text.entry, "ax"
    .code32
    .globl pvh_start32
pvh_start32:
    cli
    cld
    mov     %ebx, %ebp                  /* hvm_start_info; cpuid clobbers ebx */
    movl    $(pvh_pdpt + PTE_P + PTE_RW), pvh_pml4

    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      .Lpages_2m
    mov     $0x80000001, %eax
    cpuid
    bt      $26, %edx                   /* Page1GB */
    jnc     .Lpages_2m

    /* PDPT[0..3] map 1 GiB each. */
    movl    $(0x00000000 + PTE_P + PTE_RW + PTE_PS), pvh_pdpt
    movl    $(0x40000000 + PTE_P + PTE_RW + PTE_PS), pvh_pdpt + 8
    movl    $(0x80000000 + PTE_P + PTE_RW + PTE_PS), pvh_pdpt + 16
    movl    $(0xc0000000 + PTE_P + PTE_RW + PTE_PS + PTE_PCD + PTE_PWT), pvh_pdpt + 24
    jmp     .Lpaging

.Lpages_2m:
    /* PDPT[0..3] -> PD 0..3; PD entries map 2 MiB each. */
    mov     $pvh_pd, %eax
    or      $(PTE_P + PTE_RW), %eax
    mov     $pvh_pdpt, %edi
    mov     $4, %ecx
1:  mov     %eax, (%edi)
    add     $4096, %eax
    add     $8, %edi
    loop    1b
    mov     $pvh_pd, %edi
    xor     %ecx, %ecx                  /* 2 MiB page index, 0..2047 */
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $(PTE_P + PTE_RW + PTE_PS), %eax
    cmp     $1536, %ecx                 /* 3 GiB and up: MMIO */
    jb      3f
    or      $(PTE_PCD + PTE_PWT), %eax
3:  mov     %eax, (%edi,%ecx,8)
    inc     %ecx
    cmp     $2048, %ecx
    jb      2b

.Lpaging:
    lgdt    pvh_gdt_ptr
    mov     %cr4, %eax
    or      $0x20, %eax                 /* PAE */
    mov     %eax, %cr4
    mov     $pvh_pml4, %eax
    mov     %eax, %cr3
    mov     $0xc0000080, %ecx           /* EFER */
    rdmsr
    or      $0x100, %eax                /* LME */
    wrmsr
    mov     %cr0, %eax
    or      $0x80000001, %eax           /* PG | PE */
    mov     %eax, %cr0
    ljmp    $0x08, $pvh_long

    .code64
pvh_long:
    mov     $0x10, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    mov     $stack_top, %esp
    mov     %ebp, %edi
    mov     $2, %esi                    /* BOOT_PVH */
    call    guest_main
4:  cli
    hlt
    jmp     4b

    .section .rodata
    .balign 16
pvh_gdt:
    .quad   0
    .quad   0x00af9a000000ffff          /* 0x08: 64-bit code */
    .quad   0x00cf92000000ffff          /* 0x10: data */
pvh_gdt_ptr:
    .word   pvh_gdt_ptr - pvh_gdt - 1
    .long   pvh_gdt

    .section .bss
    .balign 4096
pvh_pml4:
    .skip   4096
pvh_pdpt:
    .skip   4096
pvh_pd:
    .skip   4 * 4096

    .section .note.GNU-stack, "", @progbits

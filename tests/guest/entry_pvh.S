/* The PVH entry, named by the XEN_ELFNOTE_PHYS32_ENTRY note below: 32-bit flat protected
   mode, paging off, ebx = struct hvm_start_info. Loads identity page tables for the first
   4 GiB (the top GiB, where the IOAPIC, LAPIC and virtio-mmio live, uncached), turns on long
   mode with its own GDT and calls guest_main like the 64-bit entry does.

   The page tables are data in the image, as Linux's PVH entry has them: on this project's
   nested-PVM /dev/kvm, code that runs with paging off appears to be emulated an instruction at
   a time, and the loop that used to fill 2048 entries here took 8.6 ms, most of the time to
   the first console byte. The entry now runs a dozen instructions before paging is on. */
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
    mov     %ebx, %ebp                  /* hvm_start_info */
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

    /* Static page tables: PML4[0] -> PDPT, PDPT[0..3] -> PD 0..3, each PD entry a 2 MiB
       page, 3 GiB and up (MMIO) uncached. Built by the assembler rather than by a loop here,
       because code running with paging off is slow on some nested hypervisors (see above). */
    .section .data
    .balign 4096
pvh_pml4:
    .quad   pvh_pdpt + PTE_P + PTE_RW
    .fill   511, 8, 0
pvh_pdpt:
    .quad   pvh_pd + 0x0000 + PTE_P + PTE_RW
    .quad   pvh_pd + 0x1000 + PTE_P + PTE_RW
    .quad   pvh_pd + 0x2000 + PTE_P + PTE_RW
    .quad   pvh_pd + 0x3000 + PTE_P + PTE_RW
    .fill   508, 8, 0
pvh_pd:
    .set    page, 0
    .rept   2048
    .if     page < 1536
    .quad   (page << 21) + PTE_P + PTE_RW + PTE_PS
    .else
    .quad   (page << 21) + PTE_P + PTE_RW + PTE_PS + PTE_PCD + PTE_PWT
    .endif
    .set    page, page + 1
    .endr

    .section .note.GNU-stack, "", @progbits

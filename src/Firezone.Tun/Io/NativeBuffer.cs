using System.Runtime.InteropServices;

namespace Firezone.Tun.Io;

/// <summary>
/// A zeroed block of native memory owned by a SafeHandle: freed exactly once, by <see cref="SafeHandle.Dispose()"/> or
/// by the finalizer if the owner forgot, and never while a <see cref="Lease"/> is held (the pointer stays valid for
/// the lease's lifetime even if another thread disposes the buffer meanwhile).
/// </summary>
internal sealed unsafe class NativeBuffer : SafeHandle
{
    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes.</summary>
    public NativeBuffer(int bytes) : base(IntPtr.Zero, ownsHandle: true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Length = bytes;
        SetHandle((IntPtr)NativeMemory.AllocZeroed((nuint)bytes));
    }

    /// <summary>Size in bytes.</summary>
    public int Length { get; }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Takes a reference and returns the block's address; dispose the lease to release it.</summary>
    /// <exception cref="ObjectDisposedException">The buffer was already released.</exception>
    public Lease Acquire()
    {
        bool added = false;
        DangerousAddRef(ref added);
        return new Lease(this, (byte*)DangerousGetHandle());
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        NativeMemory.Free((void*)handle);
        return true;
    }

    /// <summary>A reference on a <see cref="NativeBuffer"/> that keeps its memory alive.</summary>
    public readonly ref struct Lease
    {
        private readonly NativeBuffer _owner;

        internal Lease(NativeBuffer owner, byte* pointer)
        {
            _owner = owner;
            Pointer = pointer;
        }

        /// <summary>The block's address.</summary>
        public byte* Pointer { get; }

        /// <summary>Releases the reference.</summary>
        public void Dispose() => _owner?.DangerousRelease();
    }
}

namespace Asupersync.Channels;

/// <summary>A growable ring buffer with push at both ends (front pushes put back an item a cancelled receiver was handed).</summary>
internal sealed class Deque<T>
{
    private T[] _buf = new T[8];
    private int _head;

    internal int Count { get; private set; }

    internal void PushBack(T item)
    {
        if (Count == _buf.Length) Grow();
        _buf[(_head + Count) & (_buf.Length - 1)] = item;
        Count++;
    }

    internal void PushFront(T item)
    {
        if (Count == _buf.Length) Grow();
        _head = (_head - 1) & (_buf.Length - 1);
        _buf[_head] = item;
        Count++;
    }

    internal T PopFront()
    {
        System.Diagnostics.Debug.Assert(Count > 0);
        var item = _buf[_head];
        _buf[_head] = default!;
        _head = (_head + 1) & (_buf.Length - 1);
        Count--;
        return item;
    }

    internal T PeekAt(int index) => _buf[(_head + index) & (_buf.Length - 1)];

    internal void Clear()
    {
        Array.Clear(_buf);
        _head = 0;
        Count = 0;
    }

    private void Grow()
    {
        var n = new T[_buf.Length * 2];
        for (int i = 0; i < Count; i++) n[i] = _buf[(_head + i) & (_buf.Length - 1)];
        _buf = n;
        _head = 0;
    }
}

using System.Collections;
using System.Data;
using System.Data.Common;
using Asupersync.Lab;

namespace Asupersync.Data.Tests;

/// <summary>
/// An in-memory "accounts" database behind the ADO.NET interface, for Lab programs: it understands exactly the
/// statements of <see cref="Bank"/>. Writes in a transaction are buffered and applied on commit; statements outside
/// a transaction apply at once (autocommit). Every statement reports an access to the Lab, so exploration sees that
/// two tasks' statements on the same database do not commute.
/// </summary>
internal sealed class MemoryDb
{
    private readonly Dictionary<long, long> _balances = [];

    public MemoryDb(params (long Id, long Balance)[] accounts)
    {
        foreach (var (id, balance) in accounts) _balances[id] = balance;
    }

    public long Total => _balances.Values.Sum();

    public int Commits { get; private set; }

    public int Rollbacks { get; private set; }

    public DbConnection Connect(Cx cx) => new MemoryConnection(this, cx);

    private object? Execute(Cx cx, string sql, Dictionary<long, long>? pending, DbParameterCollection ps)
    {
        LabAccess.Touch(cx, "memorydb");
        long Arg(string name) => Convert.ToInt64(((DbParameter)ps[name]).Value, System.Globalization.CultureInfo.InvariantCulture);
        long Read(long id) => _balances[id] + (pending is not null && pending.TryGetValue(id, out var d) ? d : 0);
        switch (sql)
        {
            case Bank.Add:
                var id = Arg("id");
                if (!_balances.ContainsKey(id)) return 0;
                if (pending is null) _balances[id] += Arg("d");
                else pending[id] = (pending.TryGetValue(id, out var p) ? p : 0) + Arg("d");
                return 1;
            case Bank.Balance:
                return Read(Arg("id"));
            case Bank.Sum:
                return _balances.Keys.Sum(Read);
            default:
                throw new NotSupportedException("MemoryDb does not understand: " + sql);
        }
    }

    private sealed class MemoryConnection(MemoryDb db, Cx cx) : DbConnection
    {
        private ConnectionState _state;

        public MemoryDb Db => db;

        public Cx Cx => cx;

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string ConnectionString { get; set; } = "memory";

        public override string Database => "memory";

        public override string DataSource => "memory";

        public override string ServerVersion => "1";

        public override ConnectionState State => _state;

        public override void ChangeDatabase(string databaseName) => throw new NotSupportedException();

        public override void Close() => _state = ConnectionState.Closed;

        public override void Open() => _state = ConnectionState.Open;

        protected override DbTransaction BeginDbTransaction(IsolationLevel isolationLevel)
        {
            LabAccess.Touch(cx, "memorydb");
            return new MemoryTransaction(this, isolationLevel);
        }

        protected override DbCommand CreateDbCommand() => new MemoryCommand(this);
    }

    private sealed class MemoryTransaction(MemoryConnection connection, IsolationLevel level) : DbTransaction
    {
        public readonly Dictionary<long, long> Pending = [];
        private bool _done;

        public override IsolationLevel IsolationLevel => level;

        protected override DbConnection DbConnection => connection;

        public override void Commit()
        {
            if (_done) throw new InvalidOperationException("transaction already finished");
            LabAccess.Touch(connection.Cx, "memorydb");
            _done = true;
            foreach (var (id, d) in Pending) connection.Db._balances[id] += d;
            connection.Db.Commits++;
        }

        public override void Rollback()
        {
            if (_done) throw new InvalidOperationException("transaction already finished");
            _done = true;
            Pending.Clear();
            connection.Db.Rollbacks++;
        }
    }

    private sealed class MemoryCommand(MemoryConnection connection) : DbCommand
    {
        private readonly MemoryParameters _parameters = new();

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string CommandText { get; set; } = "";

        public override int CommandTimeout { get; set; }

        public override CommandType CommandType { get; set; }

        public override bool DesignTimeVisible { get; set; }

        public override UpdateRowSource UpdatedRowSource { get; set; }

        protected override DbConnection? DbConnection { get => connection; set => throw new NotSupportedException(); }

        protected override DbParameterCollection DbParameterCollection => _parameters;

        protected override DbTransaction? DbTransaction { get; set; }

        public override void Cancel() { }

        public override int ExecuteNonQuery() => Convert.ToInt32(Run(), System.Globalization.CultureInfo.InvariantCulture);

        public override object? ExecuteScalar() => Run();

        public override void Prepare() { }

        protected override DbParameter CreateDbParameter() => new MemoryParameter();

        protected override DbDataReader ExecuteDbDataReader(CommandBehavior behavior) => throw new NotSupportedException();

        private object? Run() => connection.Db.Execute(connection.Cx, CommandText, (DbTransaction as MemoryTransaction)?.Pending, _parameters);
    }

    private sealed class MemoryParameter : DbParameter
    {
        public override DbType DbType { get; set; }

        public override ParameterDirection Direction { get; set; }

        public override bool IsNullable { get; set; }

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string ParameterName { get; set; } = "";

        public override int Size { get; set; }

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string SourceColumn { get; set; } = "";

        public override bool SourceColumnNullMapping { get; set; }

        public override object? Value { get; set; }

        public override void ResetDbType() { }
    }

    private sealed class MemoryParameters : DbParameterCollection
    {
        private readonly List<DbParameter> _items = [];

        public override int Count => _items.Count;

        public override object SyncRoot => _items;

        public override int Add(object value)
        {
            _items.Add((DbParameter)value);
            return _items.Count - 1;
        }

        public override void AddRange(Array values)
        {
            foreach (var v in values) Add(v);
        }

        public override void Clear() => _items.Clear();

        public override bool Contains(object value) => _items.Contains((DbParameter)value);

        public override bool Contains(string value) => IndexOf(value) >= 0;

        public override void CopyTo(Array array, int index) => ((ICollection)_items).CopyTo(array, index);

        public override IEnumerator GetEnumerator() => _items.GetEnumerator();

        public override int IndexOf(object value) => _items.IndexOf((DbParameter)value);

        public override int IndexOf(string parameterName) => _items.FindIndex(p => p.ParameterName == parameterName);

        public override void Insert(int index, object value) => _items.Insert(index, (DbParameter)value);

        public override void Remove(object value) => _items.Remove((DbParameter)value);

        public override void RemoveAt(int index) => _items.RemoveAt(index);

        public override void RemoveAt(string parameterName) => _items.RemoveAt(IndexOf(parameterName));

        protected override DbParameter GetParameter(int index) => _items[index];

        protected override DbParameter GetParameter(string parameterName) => _items[IndexOf(parameterName)];

        protected override void SetParameter(int index, DbParameter value) => _items[index] = value;

        protected override void SetParameter(string parameterName, DbParameter value) => _items[IndexOf(parameterName)] = value;
    }
}
